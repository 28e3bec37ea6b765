"""Shared fixtures. JAX compiles dominate the suite's time, so compiled pieces are built once per
session and a persistent compilation cache lets identical programs built by different tests
(e.g. two training runs with the same config) compile once."""

from __future__ import annotations

import os
import tempfile

import jax
import pytest
from hypothesis import settings

jax.config.update(
    "jax_compilation_cache_dir",
    os.environ.get("UED_TEST_JAX_CACHE", os.path.join(tempfile.gettempdir(), "ued-test-jax-cache")),
)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)

settings.register_profile("ued", deadline=None, max_examples=25, derandomize=True)
settings.load_profile("ued")


@pytest.fixture(scope="session")
def test_config():
    """The DR config of the ``test`` preset (tiny shapes)."""
    from algorithms import ALGORITHMS

    return ALGORITHMS["dr"].preset("test")


@pytest.fixture(scope="session")
def test_env(test_config):
    """The tiny training maze of the test preset."""
    from envs import ENVS

    return ENVS["maze"].make(test_config)


@pytest.fixture(scope="session")
def test_network(test_config, test_env):
    """The tiny student network of the test preset."""
    from ued.train import Trainer

    return Trainer(test_env, None, test_config).network


@pytest.fixture(scope="session")
def dr_run(tmp_path_factory, test_config):
    """One complete DR run of the test preset (4 updates, checkpoints at 2 and 4)."""
    from ued.train import run

    out = tmp_path_factory.mktemp("runs") / "dr-full"
    result = run(test_config, out, progress=False, log=lambda *_: None)
    return result
