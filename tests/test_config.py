"""Invalid configs fail before compiling, with a message naming the field."""

from __future__ import annotations

import re

import pytest

from ued import registry
from ued.app.build import preset
from ued.config import ConfigError, differences, from_dict, override, to_dict, validate


@pytest.fixture
def config():
    return preset("dr", "maze", "cpu")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"env_config__height": 0}, "env_config.height: must be positive"),
        ({"env_config__width": -3}, "env_config.width: must be positive"),
        ({"env_config__view_size": 4}, "env_config.view_size: must be odd"),
        ({"env_config__n_walls": 500}, "env_config.n_walls"),
        ({"env_config__max_steps": 0}, "env_config.max_steps"),
        ({"ppo__num_envs": 0}, "ppo.num_envs: must be positive"),
        ({"ppo__num_steps": -1}, "ppo.num_steps"),
        ({"ppo__lr": 0.0}, "ppo.lr"),
        ({"ppo__gamma": 1.5}, "ppo.gamma: must be in [0, 1]"),
        ({"ppo__gae_lambda": -0.1}, "ppo.gae_lambda: must be in [0, 1]"),
        ({"ppo__clip_eps": 0.0}, "ppo.clip_eps"),
        ({"ppo__minibatches": 3}, "ppo.minibatches: ppo.num_envs (32) must be divisible"),
        ({"network__hidden_size": 0}, "network.hidden_size"),
        ({"env_config__encoder__conv_filters": -1}, "env_config.encoder.conv_filters"),
        ({"env_config__timeout": "never"}, "env_config.timeout"),
        ({"ppo__max_grad_norm": -1.0}, "ppo.max_grad_norm: must be >= 0"),
        ({"curriculum__resample": "often"}, "curriculum.resample"),
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


@pytest.mark.parametrize("name", ["test", "cpu", "paper"])
@pytest.mark.parametrize("algo", list(registry.ALGORITHMS))
def test_presets_are_valid_and_round_trip_through_json(algo, name):
    config = validate(preset(algo, "maze", name))
    assert config.preset == name and config.algo == algo and config.env == "maze"
    assert from_dict(to_dict(config)) == config


def test_paper_preset_matches_the_literature():
    config = preset("dr", "maze", "paper")
    ppo = config.ppo
    assert (ppo.num_envs, ppo.num_steps, ppo.epochs, ppo.minibatches) == (32, 256, 5, 1)
    assert (ppo.lr, ppo.gamma, ppo.gae_lambda, ppo.clip_eps) == (1e-4, 0.995, 0.98, 0.2)
    assert (ppo.ent_coef, ppo.vf_coef, ppo.max_grad_norm, ppo.adam_eps) == (1e-3, 0.5, 0.5, 1e-5)
    assert config.network.hidden_size == 256 and config.updates == 30_000
    maze = config.env_config
    assert (maze.height, maze.n_walls, maze.max_steps, maze.timeout) == (13, 25, 250, "terminal")
    # MiniGrid's 7 actions and (object, colour, state) / 10 cells, as JaxUED's and minimax's maze
    assert (maze.noop_actions, maze.observation) == (4, "minigrid")
    for name in ("cpu", "test"):  # this library's maze: the 3 actions that act, one-hot cells
        cpu = preset("dr", "maze", name).env_config
        assert (cpu.noop_actions, cpu.observation) == (0, "one-hot")
    assert config.curriculum.resample == "episode"  # JaxUED's DR: a fresh level every episode
    assert preset("dr", "maze", "cpu").curriculum.resample == "update"
    for algo in ("sfl", "ncc-reg", "ncc-learn", "ncc-theory"):  # their papers' 60-wall mazes
        assert preset(algo, "maze", "paper").env_config.n_walls == 60
        assert preset(algo, "maze", "cpu").env_config.n_walls == 25


def test_unknown_preset_and_mismatched_settings_are_named(config):
    with pytest.raises(ConfigError, match="preset: unknown preset 'huge'"):
        preset("dr", "maze", "huge")
    plr = preset("robust-plr", "maze", "test")
    with pytest.raises(ConfigError, match="curriculum: expected the settings of algorithm 'dr'"):
        validate(override(plr, algo="dr"))
    with pytest.raises(ConfigError, match="env_config: expected the settings of env 'maze'"):
        validate(override(config, env_config=plr.curriculum))


def test_configs_of_an_older_version_are_refused_clearly(config):
    old = to_dict(config)
    old["maze"] = old.pop("env_config")
    with pytest.raises(ConfigError, match="older version of ued"):
        from_dict(old)


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
