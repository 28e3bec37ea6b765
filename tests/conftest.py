"""Shared fixtures. JAX compiles dominate the suite's time, so compiled pieces are built once per
session and a persistent compilation cache lets identical programs built by different tests
(e.g. two training runs with the same config) compile once."""

from __future__ import annotations

import os
import tempfile

import jax
import pytest
from hypothesis import settings

JAX_CACHE = os.environ.get(
    "UED_TEST_JAX_CACHE", os.path.join(tempfile.gettempdir(), "ued-test-jax-cache")
)
jax.config.update("jax_compilation_cache_dir", JAX_CACHE)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
# Subprocesses (the docs' code, notebook kernels) share the cache through the environment.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", JAX_CACHE)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")

settings.register_profile("ued", deadline=None, max_examples=25, derandomize=True)
settings.load_profile("ued")

from corridor_env import register  # noqa: E402

register()  # an env from outside the packages, so that every registry-wide test covers it too


def quiet(**kwargs):
    """Keyword arguments that make ``ued.app.build.train`` silent."""
    return {"progress": False, "log": lambda *_: None, **kwargs}


_RUNS: dict = {}


def assert_student_trained(program, state, metrics):
    """The student's losses and entropy are finite over every update and its parameters moved
    from a fresh ``program.init``."""
    import jax.numpy as jnp
    import numpy as np

    for name in ("student/loss", "student/policy_loss", "student/entropy"):
        assert np.all(np.isfinite(np.asarray(metrics[name]))), name
    fresh = jax.jit(program.init)(program.seed_keys())
    moved = jax.tree_util.tree_map(
        lambda a, b: bool(jnp.any(a != b)), state.student.params, fresh.student.params
    )
    assert any(jax.tree_util.tree_leaves(moved)), "the student's parameters did not move"


def run_chunks(config, chunks: int = 2):
    """Build ``config``'s program and run ``chunks`` chunks through one ``jax.jit``, counting its
    traces. Returns ``(program, state, metrics, traces, levels)`` with metrics concatenated over
    the chunks (``[chunks * U]`` or ``[chunks * U, S]``) and the last chunk's levels. Memoised
    per session on ``(config, chunks)`` (configs are frozen): the registry-wide conformance test
    and an algorithm's own tests share one run of the same config."""
    key = (config, chunks)
    if key not in _RUNS:
        _RUNS[key] = _run_chunks(config, chunks)
    return _RUNS[key]


def _run_chunks(config, chunks: int):
    from ued.app.build import build

    return program_chunks(build(config), chunks)


def program_chunks(program, chunks: int):
    """Run ``chunks`` chunks of a built program through one ``jax.jit``, counting its traces.
    Returns ``(program, state, metrics, traces, aux)``, metrics concatenated over the chunks."""
    import jax.numpy as jnp
    import numpy as np

    traces = 0

    def counted(state, start):
        nonlocal traces
        traces += 1
        return program.chunk(state, start)

    chunk = jax.jit(counted)
    state = jax.jit(program.init)(program.seed_keys())
    out = []
    for i in range(chunks):
        state, metrics, aux = chunk(state, jnp.int32(i * program.config.updates_per_chunk))
        out.append(metrics)
    metrics = jax.tree_util.tree_map(lambda *x: np.concatenate(x), *out)
    return program, state, metrics, traces, aux


HEAVY_FIRST = (
    "test_parallel.py",
    "test_meta_program.py",
    "test_conformance.py",
    "test_notebooks.py",
    "test_readme.py",
    "test_meta_groove.py",
    "test_train.py",
    "test_report.py",
)
"""Files that take longest, scheduled first so that the test processes (``make test``'s
pytest-xdist workers, a file each) do not end on one long file while the other waits."""


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(HEAVY_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable within a file


@pytest.fixture(scope="session")
def test_config():
    """The DR config of the maze's ``test`` preset (tiny shapes)."""
    from ued.app.build import preset

    return preset("dr", "maze", "test")


@pytest.fixture(scope="session")
def test_program(test_config):
    """The UED program of the test config (env, spec, curriculum, learner)."""
    from ued.app.build import build

    return build(test_config)


@pytest.fixture(scope="session")
def test_env(test_program):
    """The tiny training maze of the test preset."""
    return test_program.env


@pytest.fixture(scope="session")
def test_learner(test_program):
    """The tiny student (PPO on the maze encoder + LSTM 8) of the test preset."""
    return test_program.learner


@pytest.fixture(scope="session")
def dr_run(tmp_path_factory, test_config):
    """One complete DR run of the test preset (4 updates, checkpoints at 2 and 4)."""
    from ued.app.build import train

    out = tmp_path_factory.mktemp("runs") / "dr-full"
    return train(test_config, out, **quiet())


def maze_learner(
    conv_filters: int = 2,
    direction_features: int = 2,
    cell: str = "lstm",
    hidden_size: int = 6,
    head_hidden: int = 6,
    ppo=None,
):
    """A tiny PPO student with the maze's encoder (for tests that build one by hand)."""
    from envs.maze import MazeEncoder
    from ued.config import PPOConfig
    from ued.networks import ActorCritic
    from ued.ppo import PPOLearner

    network = ActorCritic(
        num_actions=3,
        encoder=MazeEncoder(conv_filters, direction_features),
        cell=cell,
        hidden_size=hidden_size,
        head_hidden=head_hidden,
    )
    return PPOLearner(network, ppo or PPOConfig())


def run_meta_steps(meta, steps: int, seed: int = 0):
    """Initialise a meta-learner (``MetaGradient`` or ``EvolutionStrategy``) and take ``steps``
    jitted steps, counting the step's traces. Returns ``(states [steps + 1], metrics [steps] as
    NumPy, traces)``."""
    import numpy as np

    traces = 0

    def counted(state):
        nonlocal traces
        traces += 1
        return meta.step(state)

    step = jax.jit(counted)
    states = [jax.jit(meta.init)(jax.random.key(seed))]
    metrics = []
    for _ in range(steps):
        state, m = step(states[-1])
        states.append(state)
        metrics.append(jax.tree_util.tree_map(np.asarray, m))
    return states, metrics, traces
