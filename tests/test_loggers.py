"""TensorBoard and wandb beside the CSVs (``--log``): the same names as the CSVs, evaluation
tables and level images as media, wandb offline, a clear message when an extra is missing."""

from __future__ import annotations

import csv
import glob
import importlib
import struct
from pathlib import Path

import pytest
from conftest import quiet

from ued.errors import ConfigError
from ued.loggers import parse


def test_parse_names_the_option_and_always_keeps_the_csvs():
    assert parse("tensorboard") == ("csv", "tensorboard")
    assert parse("csv, wandb,csv") == ("csv", "wandb")
    with pytest.raises(ConfigError, match=r"^log: unknown logger 'mlflow'"):
        parse("csv,mlflow")


def test_a_missing_extra_is_named_before_anything_is_compiled(tmp_path, monkeypatch, capsys):
    from ued.app.cli import main

    real = importlib.import_module

    def without_tensorboardx(name, *args, **kwargs):
        if name == "tensorboardX":
            raise ImportError("No module named 'tensorboardX'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib, "import_module", without_tensorboardx)
    out = tmp_path / "run"
    argv = ["train", "--preset", "test", "--log", "csv,tensorboard", "--out", str(out)]
    assert main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert error == (
        "ued train: error: log: the tensorboard logger needs the optional extra: "
        "pip install 'ued-toolkit[tensorboard]' (the tensorboardX package is not installed)"
    )
    assert not (out / "config.json").exists()


def _tensorboard_scalars(folder: Path) -> dict[str, list[int]]:
    """``{tag: [steps]}`` of a TensorBoard run folder (TFRecord framing: length, crc, data, crc)."""
    from tensorboardX.proto import event_pb2

    tags: dict[str, list[int]] = {}
    for file in sorted(folder.glob("events.out.tfevents.*")):
        data, i = file.read_bytes(), 0
        while i < len(data):
            (length,) = struct.unpack("<Q", data[i : i + 8])
            event = event_pb2.Event.FromString(data[i + 12 : i + 12 + length])
            i += 12 + length + 4
            for value in event.summary.value:
                tags.setdefault(value.tag, []).append(event.step)
    return tags


@pytest.fixture(scope="module")
def logged_run(tmp_path_factory):
    """Robust PLR at the test preset with every logger (wandb offline)."""
    from ued.app.build import preset, train

    mp = pytest.MonkeyPatch()
    mp.setenv("WANDB_MODE", "offline")
    mp.setenv("WANDB_SILENT", "true")
    out = tmp_path_factory.mktemp("loggers") / "rplr"
    try:
        train(preset("robust-plr", "maze", "test"), out, loggers=parse("tensorboard,wandb"),
              **quiet())  # fmt: skip
    finally:
        mp.undo()
    return out


def test_tensorboard_mirrors_the_csvs(logged_run):
    tags = _tensorboard_scalars(logged_run / "tensorboard" / "seed_0")
    with (logged_run / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    for column in set(rows[0]) - {"update", "seed"}:
        assert sorted(tags[column]) == sorted(int(r["update"]) for r in rows), column
    with (logged_run / "curriculum.csv").open() as f:
        statistics = {r["statistic"] for r in csv.DictReader(f)}
    assert statistics and statistics <= set(tags)
    assert {"eval/classic/solve_rate", "eval/classic/return"} <= set(tags)
    assert "eval/summary/text_summary" in tags  # the evaluation table, as Markdown text
    assert {"levels/buffer", "levels/mass"} <= set(tags)  # the buffer's images


def test_wandb_runs_offline_with_the_same_names_and_media(logged_run):
    runs = glob.glob(str(logged_run / "wandb" / "offline-run-*"))
    assert len(runs) == 1  # one seed, one run
    run = Path(runs[0])
    data = next(run.glob("run-*.wandb")).read_bytes()
    for name in (b"student/return", b"trained/shortest_path", b"eval/classic/solve_rate"):
        assert name in data, name
    media = run / "files" / "media"
    assert list((media / "images" / "levels").glob("buffer_*.png"))
    assert list((media / "table" / "eval").glob("summary_*.table.json"))
