"""Invalid configs fail before compiling, with a message naming the field."""

from __future__ import annotations

import re

import pytest

from algorithms import ALGORITHMS
from ued.config import ConfigError, differences, from_dict, override, to_dict, validate


@pytest.fixture
def config():
    return ALGORITHMS["dr"].preset("cpu")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"maze__height": 0}, "maze.height: must be positive"),
        ({"maze__width": -3}, "maze.width: must be positive"),
        ({"maze__view_size": 4}, "maze.view_size: must be odd"),
        ({"maze__n_walls": 500}, "maze.n_walls"),
        ({"maze__max_steps": 0}, "maze.max_steps"),
        ({"ppo__num_envs": 0}, "ppo.num_envs: must be positive"),
        ({"ppo__num_steps": -1}, "ppo.num_steps"),
        ({"ppo__lr": 0.0}, "ppo.lr"),
        ({"ppo__gamma": 1.5}, "ppo.gamma: must be in [0, 1]"),
        ({"ppo__gae_lambda": -0.1}, "ppo.gae_lambda: must be in [0, 1]"),
        ({"ppo__clip_eps": 0.0}, "ppo.clip_eps"),
        ({"ppo__minibatches": 3}, "ppo.minibatches: ppo.num_envs (32) must be divisible"),
        ({"network__hidden_size": 0}, "network.hidden_size"),
        ({"algo": "nope"}, "algo: unknown algorithm 'nope'"),
        ({"env": "nope"}, "env: unknown env 'nope'"),
        ({"eval_suites": ("nope",)}, "eval_suites: unknown suite 'nope'"),
        ({"updates": 0}, "updates: must be positive"),
        ({"updates": 1001}, "updates: 1001 is not a multiple of updates_per_chunk"),
        ({"eval_every": 30}, "eval_every: 30 is not a multiple"),
        ({"seeds": (1, 1)}, "seeds: repeated"),
    ],
)
def test_invalid_fields_are_named(config, fields, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        validate(override(config, **fields))


@pytest.mark.parametrize("preset", ["test", "cpu", "paper"])
@pytest.mark.parametrize("algo", sorted(ALGORITHMS))
def test_presets_are_valid_and_round_trip_through_json(algo, preset):
    config = validate(ALGORITHMS[algo].preset(preset))
    assert config.preset == preset and config.algo == algo
    assert from_dict(to_dict(config)) == config


def test_paper_preset_matches_the_literature():
    config = ALGORITHMS["dr"].preset("paper")
    ppo = config.ppo
    assert (ppo.num_envs, ppo.num_steps, ppo.epochs, ppo.minibatches) == (32, 256, 5, 1)
    assert (ppo.lr, ppo.gamma, ppo.gae_lambda, ppo.clip_eps) == (1e-4, 0.995, 0.98, 0.2)
    assert (ppo.ent_coef, ppo.vf_coef, ppo.max_grad_norm, ppo.adam_eps) == (1e-3, 0.5, 0.5, 1e-5)
    assert config.network.hidden_size == 256 and config.updates == 30_000
    assert (config.maze.height, config.maze.n_walls, config.maze.max_steps) == (13, 25, 250)


def test_fields_added_after_a_save_count_as_their_defaults(config):
    """A run written before a config field existed still matches (the field takes its default),
    while changed or unknown fields are reported by their dotted names."""
    saved = to_dict(config)
    del saved["ppo"]["objective"]
    assert differences(saved, config) == []
    saved["ppo"]["lr"] = 1.0
    assert differences(saved, config) == ["ppo.lr"]
    saved["ppo"]["removed_field"] = 1
    assert "ppo.removed_field" in differences(saved, config)
