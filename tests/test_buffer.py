"""The level buffer: prioritisation maths, staleness, insertion and replacement rules,
duplicate refresh, min-fill gating, sampling frequencies, extras and statistics."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ued.buffer import BufferConfig, LevelBuffer, age_histogram


def level(i):
    """A toy level: any pytree works; the value makes distinct levels distinct."""
    return {"cells": jnp.full((3,), i, jnp.int32), "flag": jnp.array(i % 2 == 0)}


def levels(values):
    return jax.tree_util.tree_map(lambda *x: jnp.stack(x), *[level(v) for v in values])


def make(capacity=5, **kw):
    kw.setdefault("staleness_coeff", 0.0)
    return LevelBuffer(BufferConfig(capacity=capacity, **kw))


def filled(buffer, scores, counter=0, last_seen=None):
    """A buffer holding levels 0..len(scores)-1 with the given scores."""
    state = buffer.init(level(0))
    state, slots = jax.jit(buffer.insert)(
        state, levels(range(len(scores))), jnp.asarray(scores, jnp.float32)
    )
    assert (np.asarray(slots) == np.arange(len(scores))).all()
    state = state.replace(counter=jnp.int32(counter))
    if last_seen is not None:
        state = state.replace(
            last_seen=state.last_seen.at[: len(last_seen)].set(jnp.asarray(last_seen, jnp.int32))
        )
    return state


def test_rank_weights_by_hand():
    buffer = make(capacity=4, temperature=1.0)
    state = filled(buffer, [3.0, 1.0, 2.0])  # ranks 1, 3, 2; slot 3 empty
    w = np.asarray(buffer.score_weights(state))
    expected = np.array([1.0, 1 / 3, 1 / 2])
    np.testing.assert_allclose(w[:3], expected / expected.sum(), rtol=1e-6)
    assert w[3] == 0.0 and w.sum() == pytest.approx(1.0)


def test_rank_temperature_is_an_exponent_and_its_limits():
    scores = [0.5, 0.9, 0.1, 0.7]
    w_half = np.asarray(make(temperature=0.5).score_weights(filled(make(), scores)))
    raw = np.array([1 / 3, 1.0, 1 / 4, 1 / 2]) ** 2.0  # (1/rank)^(1/beta), beta = 0.5
    np.testing.assert_allclose(w_half[:4], raw / raw.sum(), rtol=1e-5)
    greedy = np.asarray(make(temperature=0.01).score_weights(filled(make(), scores)))
    assert greedy[1] == pytest.approx(1.0, abs=1e-6)
    flat = np.asarray(make(temperature=1e4).score_weights(filled(make(), scores)))
    np.testing.assert_allclose(flat[:4], 0.25, atol=1e-3)


def test_rank_ties_are_shared_not_broken_by_slot():
    """Equal scores and equal staleness: equal replay probability. (Ranking ties by slot index
    gave slot 0 of a buffer whose scores were all 0 about 60% of the replays at the default
    temperature.)"""
    buffer = make(capacity=8, temperature=0.3)
    w = np.asarray(buffer.score_weights(filled(buffer, [0.0] * 8, last_seen=[0] * 8)))
    np.testing.assert_allclose(w, 1 / 8, rtol=1e-6)
    # Ties share the mean of their ranks: scores (2, 1, 1, 0) rank as (1, 2.5, 2.5, 4).
    buffer = make(capacity=4, temperature=1.0)
    state = filled(buffer, [2.0, 1.0, 1.0, 0.0], last_seen=[0] * 4)
    w = np.asarray(buffer.score_weights(state))
    raw = np.array([1.0, 1 / 2.5, 1 / 2.5, 1 / 4])
    np.testing.assert_allclose(w, raw / raw.sum(), rtol=1e-6)


def test_rank_ties_go_to_the_stalest_level_first():
    """Equal scores, different staleness: the level unseen for longest ranks first, so tied
    levels take turns instead of one slot winning every time."""
    buffer = make(capacity=3, temperature=1.0)
    state = filled(buffer, [1.0, 1.0, 1.0], counter=10, last_seen=[9, 2, 5])
    w = np.asarray(buffer.score_weights(state))
    raw = np.array([1 / 3, 1.0, 1 / 2])  # slot 1 (seen at 2) first, then slot 2, then slot 0
    np.testing.assert_allclose(w, raw / raw.sum(), rtol=1e-6)
    # topk counts the stalest of the tied levels in.
    topk = make(capacity=3, prioritization="topk", topk=1)
    np.testing.assert_allclose(np.asarray(topk.score_weights(state)), [0, 1, 0])


def test_topk_and_proportional_weights():
    topk = make(prioritization="topk", topk=2)
    w = np.asarray(topk.score_weights(filled(topk, [0.1, 0.9, 0.5, 0.7])))
    np.testing.assert_allclose(w[:4], [0, 0.5, 0, 0.5])
    prop = make(prioritization="proportional", temperature=0.5)
    w = np.asarray(prop.score_weights(filled(prop, [1.0, 2.0, -3.0])))
    np.testing.assert_allclose(w[:3], np.array([1.0, 4.0, 0.0]) / 5.0, rtol=1e-6)
    zeros = np.asarray(prop.score_weights(filled(prop, [0.0, 0.0])))
    np.testing.assert_allclose(zeros[:2], [0.5, 0.5])


@given(
    scores=st.lists(st.floats(-5, 5), min_size=1, max_size=12),
    prioritization=st.sampled_from(["rank", "topk", "proportional"]),
    rho=st.floats(0, 1),
    temperature=st.floats(0.05, 5),
)
def test_replay_weights_are_a_distribution_over_filled_slots(
    scores, prioritization, rho, temperature
):
    buffer = make(
        capacity=12,
        prioritization=prioritization,
        staleness_coeff=rho,
        temperature=temperature,
        topk=3,
    )
    state = filled(buffer, scores, counter=7, last_seen=np.arange(len(scores)) % 5)
    w = np.asarray(buffer.replay_weights(state))
    assert np.all(w >= 0) and w.sum() == pytest.approx(1.0, abs=1e-5)
    assert np.all(w[len(scores) :] == 0)


def test_staleness_weights_and_mixing():
    buffer = make(staleness_coeff=0.3, temperature=1.0)
    state = filled(buffer, [2.0, 1.0], counter=10, last_seen=[9, 6])  # staleness 1 and 4
    stale = np.asarray(buffer.staleness_weights(state))
    np.testing.assert_allclose(stale[:2], [0.2, 0.8], rtol=1e-6)
    score = np.asarray(buffer.score_weights(state))
    np.testing.assert_allclose(buffer.replay_weights(state), 0.7 * score + 0.3 * stale, rtol=1e-6)
    fresh = filled(buffer, [2.0, 1.0], counter=0)  # all staleness zero -> uniform
    np.testing.assert_allclose(np.asarray(buffer.staleness_weights(fresh))[:2], [0.5, 0.5])


def test_insert_fills_in_order_then_replaces_the_lowest_weight_only_if_better():
    buffer = make(capacity=3, temperature=1.0)
    insert = jax.jit(buffer.insert)
    state = buffer.init(level(0))
    state, slots = insert(state, levels([10, 11, 12]), jnp.array([0.5, 0.2, 0.9]))
    assert list(np.asarray(slots)) == [0, 1, 2] and int(state.size) == 3
    # Full: a worse level is rejected, a better one replaces the lowest-weight slot (slot 1).
    state, slots = insert(state, levels([13, 14]), jnp.array([0.1, 0.6]))
    assert list(np.asarray(slots)) == [-1, 1]
    np.testing.assert_allclose(state.scores, [0.5, 0.6, 0.9])
    assert int(state.levels["cells"][1, 0]) == 14 and int(state.size) == 3


def test_duplicates_refresh_their_slot():
    buffer = LevelBuffer(BufferConfig(capacity=4, staleness_coeff=0.0), extras=("max_return",))
    state = buffer.init(level(0))
    state, _ = buffer.insert(
        state, levels([1, 2]), jnp.array([0.3, 0.4]), {"max_return": jnp.array([0.1, 0.2])}
    )
    state, slots = buffer.insert(
        state,
        levels([2, 2, 3]),
        jnp.array([0.9, 0.7, 0.1]),
        {"max_return": jnp.array([0.5, 0.6, 0.0])},
    )
    assert list(np.asarray(slots)) == [1, 1, 2] and int(state.size) == 3
    np.testing.assert_allclose(state.scores[:3], [0.3, 0.7, 0.1])
    np.testing.assert_allclose(state.extras["max_return"][:3], [0.1, 0.6, 0.0])
    no_dedup = LevelBuffer(BufferConfig(capacity=4, deduplicate=False))
    _, slots2 = no_dedup.insert(no_dedup.init(level(0)), levels([2, 2]), jnp.ones(2))
    assert list(np.asarray(slots2)) == [0, 1]


def test_bad_scores_never_enter_the_buffer():
    buffer = make()
    state, _ = buffer.insert(buffer.init(level(0)), levels([1, 2]), jnp.array([jnp.nan, -jnp.inf]))
    assert np.all(np.isfinite(np.asarray(state.scores[:2])))


def test_min_fill_gating():
    buffer = make(capacity=10, min_fill=0.5)
    state = buffer.init(level(0))
    for i in range(5):
        assert not bool(buffer.is_ready(state))
        state, _ = buffer.insert(state, levels([i]), jnp.array([1.0]))
    assert bool(buffer.is_ready(state))


def test_sampling_frequencies_match_the_distribution():
    buffer = make(capacity=6, temperature=0.7)
    state = filled(buffer, [0.3, 0.9, 0.1, 0.5, 0.7, 0.2])
    p = np.asarray(buffer.replay_weights(state))
    _, slots, sampled = jax.jit(buffer.sample, static_argnums=2)(jax.random.key(0), state, 60_000)
    freq = np.bincount(np.asarray(slots), minlength=6) / 60_000
    np.testing.assert_allclose(freq, p, atol=0.01)
    np.testing.assert_array_equal(np.asarray(sampled["cells"][:, 0]), np.asarray(slots))


def test_sampling_marks_seen_and_without_replacement_is_distinct():
    buffer = make(capacity=6, staleness_coeff=0.5)
    state = filled(buffer, [0.3, 0.9, 0.1, 0.5], counter=3)
    new, slots, _ = buffer.sample(jax.random.key(1), state, 2)
    assert int(new.counter) == 5  # one per level drawn
    seen = {int(s): 4 + i for i, s in enumerate(np.asarray(slots))}  # a later draw wins
    assert all(int(new.last_seen[s]) == count for s, count in seen.items())
    assert int(new.replays.sum()) == 2
    distinct = LevelBuffer(dataclasses.replace(buffer.config, sample_with_replacement=False))
    _, slots, _ = distinct.sample(jax.random.key(2), state, 4)
    assert sorted(np.asarray(slots)) == [0, 1, 2, 3]


def test_update_averages_repeated_scores_and_keeps_the_maximum_extra():
    """A slot replayed twice in one batch gets the mean of its scores and the maximum of its
    extras (MaxMC's highest return ever seen: averaging could store less than the true max)."""
    buffer = LevelBuffer(BufferConfig(capacity=4), extras=("max_return",))
    state = buffer.init(level(0))
    state, _ = buffer.insert(
        state, levels([1, 2, 3]), jnp.array([0.1, 0.2, 0.3]), {"max_return": jnp.zeros(3)}
    )
    state = buffer.update(
        state,
        jnp.array([2, 0, 2]),
        jnp.array([0.8, 0.5, 0.4]),
        {"max_return": jnp.array([1.0, 0.5, 0.0])},
    )
    np.testing.assert_allclose(state.scores[:3], [0.5, 0.2, 0.6], rtol=1e-6)
    np.testing.assert_allclose(state.extras["max_return"][:3], [0.5, 0.0, 1.0])
    with pytest.raises(ValueError, match="max_return"):
        buffer.update(state, jnp.array([0]), jnp.array([1.0]))


def test_stats_top_slots_and_age_histogram():
    buffer = make(capacity=5, temperature=1.0)
    state = filled(buffer, [0.2, 0.8, 0.5], counter=4, last_seen=[0, 2, 4])
    stats = {k: float(v) for k, v in buffer.stats(state).items()}
    assert stats["size"] == 3 and stats["fill"] == pytest.approx(0.6)
    assert stats["score_mean"] == pytest.approx(0.5) and stats["score_max"] == pytest.approx(0.8)
    assert stats["score_min"] == pytest.approx(0.2)
    # inserted at counts 1, 2, 3 (one per insert attempt): ages 3, 2, 1 at count 4
    assert stats["staleness_mean"] == pytest.approx(2.0) and stats["age_mean"] == pytest.approx(2)
    w = np.asarray(buffer.replay_weights(state))
    assert stats["score_weighted"] == pytest.approx(float(np.dot(w[:3], [0.2, 0.8, 0.5])), 1e-5)
    assert list(np.asarray(buffer.top_slots(state, 4))) == [1, 2, 0, -1]
    counts, edges = age_histogram(state, bins=4)
    assert int(counts.sum()) == 3 and edges.shape == (5,)


def test_buffer_ops_jit_and_vmap_over_independent_buffers():
    buffer = make(capacity=4)
    states = jax.vmap(lambda i: buffer.init(level(0)))(jnp.arange(3))
    batch = jax.tree_util.tree_map(lambda x: jnp.stack([x] * 3), levels([1, 2]))
    scores = jnp.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    states, _ = jax.jit(jax.vmap(buffer.insert))(states, batch, scores)
    assert np.asarray(states.size).tolist() == [2, 2, 2]
    np.testing.assert_allclose(states.scores[:, :2], scores)


def test_sampling_with_a_mask_marks_only_the_draws_that_are_used():
    buffer = make(capacity=4)
    state = filled(buffer, [1.0, 2.0, 3.0, 4.0], counter=5)
    sample = jax.jit(buffer.sample, static_argnums=2)
    unused, _, _ = sample(jax.random.key(0), state, 3, jnp.zeros(3, bool))
    for a, b in zip(jax.tree_util.tree_leaves(unused), jax.tree_util.tree_leaves(state)):
        np.testing.assert_array_equal(a, b)  # nothing used: nothing changes
    mask = jnp.array([True, False, True])
    after, slots, _ = sample(jax.random.key(0), state, 3, mask)
    used = np.asarray(slots)[np.asarray(mask)]
    assert int(after.counter) == 7  # the two used draws
    expected = np.zeros(4, int)
    np.add.at(expected, used, 1)
    np.testing.assert_array_equal(np.asarray(after.replays) - np.asarray(state.replays), expected)
    seen = np.asarray(after.last_seen) > 5
    np.testing.assert_array_equal(seen, expected > 0)
    assert int(after.last_seen[used[1]]) == 7


def test_a_level_just_drawn_has_no_staleness_weight_for_the_rest_of_the_batch():
    """Draws are sequential, as JaxUED's ``sample_replay_levels``: with staleness alone deciding,
    slot 1 (never seen since count 0) is drawn first, and then slot 0, which is staler now."""
    buffer = make(capacity=2, staleness_coeff=1.0)
    state = filled(buffer, [1.0, 2.0], counter=10, last_seen=[5, 0])
    after, slots, _ = buffer.sample(jax.random.key(3), state, 2)
    assert np.asarray(slots).tolist() == [1, 0]
    assert np.asarray(after.last_seen).tolist() == [12, 11] and int(after.counter) == 12


class JaxUEDSampler:
    """NumPy model of JaxUED's ``LevelSampler`` bookkeeping (rank prioritisation, staleness,
    ``insert`` with duplicate check, one draw at a time), for levels identified by an int."""

    def __init__(self, capacity, temperature, staleness_coeff):
        self.capacity, self.temperature, self.rho = capacity, temperature, staleness_coeff
        self.levels = np.full(capacity, -1)
        self.scores = np.full(capacity, -np.inf)
        self.timestamps = np.zeros(capacity, int)
        self.size = self.episode_count = 0

    def weights(self):
        mask = np.arange(self.capacity) < self.size
        order = np.argsort(-np.where(mask, self.scores, -np.inf), kind="stable")
        ranks = np.empty(self.capacity)
        ranks[order] = np.arange(self.capacity) + 1
        w_s = np.where(mask, 1 / ranks, 0) ** (1 / self.temperature)
        w_s /= w_s.sum()
        w_c = np.where(mask, self.episode_count - self.timestamps, 0).astype(float)
        w_c = w_c / w_c.sum() if w_c.sum() > 0 else mask / self.size
        return (1 - self.rho) * w_s + self.rho * w_c

    def draw(self, idx):  # sample_replay_level, given the slot drawn
        self.episode_count += 1
        self.timestamps[idx] = self.episode_count

    def insert(self, level, score):
        found = np.flatnonzero((self.levels == level) & (np.arange(self.capacity) < self.size))
        if found.size:
            idx = found[0]
            self.scores[idx] = score
            self.timestamps[idx] = self.episode_count + 1
            self.episode_count += 1
            return idx
        idx = self.size if self.size < self.capacity else int(np.argmin(self.weights()))
        stored = self.scores[idx] < score
        if stored:
            self.levels[idx], self.scores[idx] = level, score
            self.timestamps[idx] = self.episode_count + 1
            self.size = min(self.size + 1, self.capacity)
        self.episode_count += 1
        return idx if stored else -1


@settings(deadline=None, max_examples=10)
@given(st.integers(0, 2**31 - 1))
def test_bookkeeping_matches_jaxueds_level_sampler(seed):
    """Random batches of inserts (with repeats of earlier levels) and replays: the counter, the
    slots' timestamps, scores and levels, the stored slots and the replay weights equal those of
    a NumPy model of JaxUED's sampler fed the same levels, scores and drawn slots."""
    rng = np.random.default_rng(seed)
    capacity, batch = 6, 4
    buffer = make(capacity=capacity, temperature=0.3, staleness_coeff=0.3)
    model = JaxUEDSampler(capacity, 0.3, 0.3)
    state = buffer.init(level(0))
    insert, sample = jax.jit(buffer.insert), jax.jit(buffer.sample, static_argnums=2)
    for step in range(12):
        if model.size >= capacity // 2 and rng.random() < 0.5:
            state, slots, _ = sample(jax.random.key(step), state, batch)
            for slot in np.asarray(slots):
                assert model.weights()[slot] > 0
                model.draw(slot)
        else:
            ids = rng.integers(1, 12, batch)  # repeats exercise the duplicate check
            scores = rng.random(batch).astype(np.float32)
            state, stored = insert(state, levels(ids), jnp.asarray(scores))
            expected = [model.insert(i, s) for i, s in zip(ids, scores, strict=True)]
            assert np.asarray(stored).tolist() == [int(e) for e in expected]
        assert int(state.counter) == model.episode_count and int(state.size) == model.size
        n = model.size
        np.testing.assert_array_equal(np.asarray(state.last_seen)[:n], model.timestamps[:n])
        np.testing.assert_allclose(np.asarray(state.scores)[:n], model.scores[:n])
        np.testing.assert_array_equal(np.asarray(state.levels["cells"])[:n, 0], model.levels[:n])
        np.testing.assert_allclose(buffer.replay_weights(state), model.weights(), atol=1e-6)
