"""The regret-prioritised level buffer of PLR / ACCEL / NCC / GROOVE, as a functional pytree.

``LevelBuffer`` (hashable, hyperparameters only) holds the maths; ``BufferState`` (a pytree) holds
the data, so it rides through ``lax.scan``, is checkpointed by orbax and batched by ``vmap``.
Works for any env whose levels are pytrees of fixed-shape arrays.

Replay distribution over filled slots (Jiang et al. 2021, "Prioritized Level Replay"):
``P = (1 - rho) * P_score + rho * P_staleness`` with ``rho = staleness_coeff`` and

* ``rank``: ``w_i ∝ (1 / rank_i) ** (1 / temperature)``, rank 1 = highest score. Equal scores are
  ranked by staleness (the longer unseen first), and levels equal in both share their ranks'
  mean, so tied levels are replayed equally often (ranking ties by slot index gave slot 0 about
  60% of the replays when every score was 0);
* ``topk``: uniform over the ``topk`` highest scores (ties ranked by staleness, then slot);
* ``proportional``: ``w_i ∝ max(score_i, 0) ** (1 / temperature)`` (uniform if all are 0);
* staleness: ``w_i ∝ counter - last_seen_i`` (uniform if all are 0), where ``counter`` is the
  PLR papers' episode count: it advances by one for every level drawn and every insert attempt
  (stored or not), and ``last_seen`` is the count at the slot's last draw, insert or duplicate
  refresh. This is JaxUED's ``LevelSampler`` (and dcd's per-episode staleness); a batch of
  levels is drawn one at a time, each draw from the weights after the previous one, so a level
  just drawn has no staleness weight for the rest of the batch.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import jax
import jax.numpy as jnp
from flax import struct

from .hashing import pytree_hash

PRIORITIZATIONS = ("rank", "topk", "proportional")


@struct.dataclass
class BufferState:
    """The buffer's data; leading axis N = capacity everywhere.

    Attributes:
        levels: level pytree ``[N, ...]`` (empty slots hold a copy of the example level).
        scores: ``f32[N]``, -inf in empty slots.
        last_seen: ``int32[N]``, ``counter`` when last drawn, inserted or refreshed.
        inserted_at: ``int32[N]``, ``counter`` when the level entered its slot.
        replays: ``int32[N]``, times sampled since it entered.
        hashes: ``uint32[N, 2]`` level fingerprints (duplicate detection is a vector compare).
        extras: ``dict[str, f32[N]]`` per-level side data (e.g. ``max_return`` for MaxMC).
        size: ``int32[]`` filled slots (slots fill in order and are only ever replaced).
        counter: ``int32[]`` levels drawn and insert attempts so far (the episode count).
    """

    levels: Any
    scores: jax.Array
    last_seen: jax.Array
    inserted_at: jax.Array
    replays: jax.Array
    hashes: jax.Array
    extras: dict[str, jax.Array]
    size: jax.Array
    counter: jax.Array

    @property
    def filled(self) -> jax.Array:
        """``bool[N]``: which slots hold a level."""
        return jnp.arange(self.scores.shape[0]) < self.size


@dataclasses.dataclass(frozen=True)
class BufferConfig:
    """Level-buffer hyperparameters (defaults: the PLR/ACCEL maze settings)."""

    capacity: int = 4000
    """Number of level slots."""
    prioritization: Literal["rank", "topk", "proportional"] = "rank"
    """How scores become replay weights."""
    temperature: float = 0.3
    """Score-weight temperature beta (an exponent 1/beta; -> 0 is greedy, large is uniform)."""
    topk: int = 4
    """k of the topk prioritisation."""
    staleness_coeff: float = 0.3
    """Mixing weight rho of the staleness distribution (0: scores alone decide)."""
    min_fill: float = 0.5
    """Replay only once this fraction of the capacity is filled (0: from the first level)."""
    sample_with_replacement: bool = True
    """Sample replayed levels with replacement (without needs min_fill*capacity >= batch)."""
    deduplicate: bool = True
    """On insert, refresh an identical level's slot instead of adding a copy (by level hash)."""


def validate_buffer(buffer: BufferConfig, batch: int, prefix: str = "curriculum.buffer.") -> None:
    """Check a ``BufferConfig`` used with batches of ``batch`` levels; raises ``ConfigError``
    naming ``prefix + field``."""
    from .errors import ConfigError

    if buffer.capacity <= 0:
        raise ConfigError(f"{prefix}capacity: must be positive, got {buffer.capacity}")
    if buffer.temperature <= 0:
        raise ConfigError(f"{prefix}temperature: must be positive, got {buffer.temperature}")
    if buffer.topk <= 0:
        raise ConfigError(f"{prefix}topk: must be positive, got {buffer.topk}")
    for name in ("staleness_coeff", "min_fill"):
        value = getattr(buffer, name)
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"{prefix}{name}: must be in [0, 1], got {value}")
    if buffer.prioritization not in PRIORITIZATIONS:
        raise ConfigError(f"{prefix}prioritization: unknown {buffer.prioritization!r}")
    if not buffer.sample_with_replacement and buffer.min_fill * buffer.capacity < batch:
        raise ConfigError(
            f"{prefix}min_fill: sampling {batch} levels without replacement needs "
            f"min_fill * capacity >= {batch}"
        )


@dataclasses.dataclass(frozen=True)
class LevelBuffer:
    """The buffer's operations for one configuration.

    Attributes:
        config: the hyperparameters.
        extras: names of the per-level float extras kept alongside scores.
    """

    config: BufferConfig = BufferConfig()
    extras: tuple[str, ...] = ()

    # ---- construction -----------------------------------------------------------------------
    def init(self, example_level) -> BufferState:
        """An empty buffer whose slots can hold levels shaped like ``example_level``."""
        n = self.config.capacity
        return BufferState(
            levels=jax.tree_util.tree_map(
                lambda x: jnp.broadcast_to(x, (n, *x.shape)), example_level
            ),
            scores=jnp.full((n,), -jnp.inf, jnp.float32),
            last_seen=jnp.zeros((n,), jnp.int32),
            inserted_at=jnp.zeros((n,), jnp.int32),
            replays=jnp.zeros((n,), jnp.int32),
            hashes=jnp.zeros((n, 2), jnp.uint32),
            extras={name: jnp.zeros((n,), jnp.float32) for name in self.extras},
            size=jnp.zeros((), jnp.int32),
            counter=jnp.zeros((), jnp.int32),
        )

    # ---- the replay distribution ------------------------------------------------------------
    def score_weights(self, state: BufferState) -> jax.Array:
        """``P_score`` over slots, ``f32[N]`` summing to 1 over filled slots (0 if empty)."""
        cfg = self.config
        filled = state.filled
        scores = jnp.where(filled, state.scores, -jnp.inf)
        if cfg.prioritization == "proportional":
            raw = jnp.where(filled, jnp.maximum(scores, 0.0) ** (1.0 / cfg.temperature), 0.0)
        else:
            # Equal scores: the longer unseen first (the last lexsort key is the primary one).
            order = jnp.lexsort((state.last_seen, -scores))
            if cfg.prioritization == "rank":
                # float32 throughout: minimax built 1/rank in int32 and collapsed replay.
                ranks = _tie_mean_ranks(order, scores, state.last_seen)
                raw = (1.0 / ranks) ** (1.0 / cfg.temperature)
            else:
                ranks = jnp.zeros_like(order).at[order].set(jnp.arange(1, order.size + 1))
                raw = (ranks <= cfg.topk).astype(jnp.float32)
            raw = jnp.where(filled, raw, 0.0)
        return _normalise(raw, filled)

    def staleness_weights(self, state: BufferState) -> jax.Array:
        """``P_staleness`` over slots, ``f32[N]``."""
        filled = state.filled
        staleness = jnp.where(filled, state.counter - state.last_seen, 0).astype(jnp.float32)
        return _normalise(staleness, filled)

    def replay_weights(self, state: BufferState) -> jax.Array:
        """The replay distribution ``P``, ``f32[N]`` (0 on empty slots)."""
        rho = self.config.staleness_coeff
        return (1.0 - rho) * self.score_weights(state) + rho * self.staleness_weights(state)

    def is_ready(self, state: BufferState) -> jax.Array:
        """Whether enough slots are filled to replay (``bool[]``)."""
        return state.size >= jnp.ceil(self.config.min_fill * self.config.capacity)

    # ---- insert / update / sample -----------------------------------------------------------
    def insert(
        self,
        state: BufferState,
        levels,
        scores: jax.Array,
        extras: dict[str, jax.Array] | None = None,
        mask: jax.Array | None = None,
    ):
        """Offer B levels (``levels [B]``, ``scores f32[B]``, ``extras`` of ``f32[B]``).

        Each, in order: if its hash is already present (and ``deduplicate``), that slot's score
        and extras are refreshed; else it fills the next empty slot; else, when full, it replaces
        the slot with the lowest replay weight if that slot's score is lower than its own. Every
        attempt advances ``counter`` by one; a stored or refreshed slot's ``last_seen`` becomes
        the new count (JaxUED's ``insert``). ``mask bool[B]`` skips entries. Returns ``(state,
        slots int32[B])`` with -1 for levels that were not stored.
        """
        batch = scores.shape[0]
        extras = self._check_extras(extras, batch)
        mask = jnp.ones((batch,), bool) if mask is None else mask
        hashes = jax.vmap(pytree_hash)(levels)
        scores = jnp.nan_to_num(scores.astype(jnp.float32), nan=0.0, neginf=0.0)

        def insert_one(state, item):
            level, score, extra, hash_, valid = item
            filled = state.filled
            duplicate = filled & jnp.all(state.hashes == hash_, axis=1)
            has_duplicate = self.config.deduplicate & jnp.any(duplicate)
            full = state.size >= self.config.capacity
            weights = jnp.where(filled, self.replay_weights(state), jnp.inf)
            victim = jnp.argmin(weights)
            slot = jnp.where(
                has_duplicate, jnp.argmax(duplicate), jnp.where(full, victim, state.size)
            )
            store = valid & (has_duplicate | ~full | (score > state.scores[victim]))
            fresh = store & ~has_duplicate
            counter = state.counter + valid

            def put(buffer, value):
                return buffer.at[slot].set(jnp.where(store, value, buffer[slot]))

            def put_fresh(buffer, value):
                return buffer.at[slot].set(jnp.where(fresh, value, buffer[slot]))

            state = state.replace(
                levels=jax.tree_util.tree_map(put_fresh, state.levels, level),
                scores=put(state.scores, score),
                extras={k: put(v, extra[k]) for k, v in state.extras.items()},
                hashes=put_fresh(state.hashes, hash_),
                last_seen=put(state.last_seen, counter),
                inserted_at=put_fresh(state.inserted_at, counter),
                replays=put_fresh(state.replays, 0),
                size=state.size + (fresh & ~full),
                counter=counter,
            )
            return state, jnp.where(store, slot, -1).astype(jnp.int32)

        return jax.lax.scan(insert_one, state, (levels, scores, extras, hashes, mask))

    def update(
        self,
        state: BufferState,
        slots: jax.Array,
        scores: jax.Array,
        extras: dict[str, jax.Array] | None = None,
    ) -> BufferState:
        """Write new scores (and extras) for replayed ``slots int32[B]``; entries with a slot
        below 0 (levels not from the buffer) are skipped. A slot sampled more than once in the
        batch gets the mean of its scores and the maximum of its extras, which are running
        maxima such as MaxMC's highest return (both deterministic, unlike a scatter-set)."""
        extras = self._check_extras(extras, scores.shape[0])
        n = state.scores.shape[0]
        slots = jnp.where(slots >= 0, slots, n)  # out of range: dropped by every scatter below
        counts = jnp.zeros(n, jnp.float32).at[slots].add(1.0, mode="drop")
        hit = counts > 0

        def clean(new):
            return jnp.nan_to_num(new.astype(jnp.float32), nan=0.0, neginf=0.0)

        def mean_into(old, new):
            total = jnp.zeros(n, jnp.float32).at[slots].add(clean(new), mode="drop")
            return jnp.where(hit, total / jnp.maximum(counts, 1.0), old)

        def max_into(old, new):
            best = jnp.full(n, -jnp.inf, jnp.float32).at[slots].max(clean(new), mode="drop")
            return jnp.where(hit, best, old)

        return state.replace(
            scores=mean_into(state.scores, scores),
            extras={k: max_into(v, extras[k]) for k, v in state.extras.items()},
        )

    def sample(self, key: jax.Array, state: BufferState, num: int, mask: jax.Array | None = None):
        """Draw ``num`` slots one at a time, each from the replay distribution after the draws
        before it, and mark each seen (``counter`` + 1, its ``last_seen`` the new count), as
        JaxUED's ``sample_replay_levels`` does. Without replacement a drawn slot is excluded from
        the call's later draws.

        ``mask bool[num]``: only the draws that are used (e.g. by agents that start now) count
        as seen and replayed; an unused draw changes nothing. Returns ``(state, slots int32[num],
        levels [num])``. Only meaningful when the buffer is non-empty (``is_ready``).
        """
        if mask is None:
            mask = jnp.ones((num,), bool)
        n = state.scores.shape[0]

        def draw(carry, item):
            state, drawn = carry
            key, used = item
            weights = self.replay_weights(state)
            if not self.config.sample_with_replacement:
                weights = jnp.where(drawn, 0.0, weights)
            slot = jax.random.choice(key, n, p=weights / weights.sum()).astype(jnp.int32)
            counter = state.counter + used
            state = state.replace(
                counter=counter,
                last_seen=state.last_seen.at[slot].set(
                    jnp.where(used, counter, state.last_seen[slot])
                ),
                replays=state.replays.at[slot].add(used.astype(jnp.int32)),
            )
            return (state, drawn.at[slot].set(True)), slot

        keys = jax.random.split(key, num)
        (state, _), slots = jax.lax.scan(draw, (state, jnp.zeros((n,), bool)), (keys, mask))
        return state, slots, self.get(state, slots)

    @staticmethod
    def get(state: BufferState, slots: jax.Array):
        """The levels in ``slots``."""
        return jax.tree_util.tree_map(lambda x: x[slots], state.levels)

    def _check_extras(self, extras, batch):
        extras = dict(extras or {})
        missing = set(self.extras) - set(extras)
        if missing:
            raise ValueError(f"buffer extras {sorted(missing)} were not provided")
        return {k: jnp.asarray(extras[k], jnp.float32).reshape(batch) for k in self.extras}

    # ---- inspection -------------------------------------------------------------------------
    def stats(self, state: BufferState) -> dict[str, jax.Array]:
        """Scalars for logging under ``buffer/``: size, fill, score mean/max/min over filled
        slots, the replay-weighted score, staleness and age (in draws and insert attempts),
        replays."""
        filled = state.filled
        n = jnp.maximum(state.size, 1).astype(jnp.float32)
        scores = jnp.where(filled, state.scores, 0.0)
        weights = self.replay_weights(state)
        age = jnp.where(filled, state.counter - state.inserted_at, 0)
        staleness = jnp.where(filled, state.counter - state.last_seen, 0)
        return {
            "size": state.size,
            "fill": state.size / self.config.capacity,
            "score_mean": scores.sum() / n,
            "score_max": jnp.max(jnp.where(filled, state.scores, -jnp.inf)),
            "score_min": jnp.min(jnp.where(filled, state.scores, jnp.inf)),
            "score_weighted": jnp.sum(weights * scores),
            "staleness_mean": staleness.sum() / n,
            "age_mean": age.sum() / n,
            "age_max": age.max(),
            "replays_mean": jnp.where(filled, state.replays, 0).sum() / n,
        }

    def top_slots(self, state: BufferState, k: int, by: Literal["score", "weight"] = "score"):
        """The ``k`` filled slots with the highest score or replay weight, best first
        (``int32[k]``; padded with -1 if fewer are filled)."""
        key = state.scores if by == "score" else self.replay_weights(state)
        key = jnp.where(state.filled, key, -jnp.inf)
        order = jnp.argsort(-key, stable=True)[:k]
        return jnp.where(state.filled[order], order, -1).astype(jnp.int32)


def _tie_mean_ranks(order: jax.Array, scores: jax.Array, last_seen: jax.Array) -> jax.Array:
    """Ranks ``f32[N]`` (1 = best) of the slots in rank ``order``, where slots equal in both
    score and ``last_seen`` (consecutive in that order) share their ranks' mean."""
    key_score, key_seen = scores[order], last_seen[order]
    new_group = jnp.concatenate(
        [
            jnp.ones((1,), bool),
            (key_score[1:] != key_score[:-1]) | (key_seen[1:] != key_seen[:-1]),
        ]
    )
    group = jnp.cumsum(new_group) - 1
    n = order.shape[0]
    position = jnp.arange(1, n + 1, dtype=jnp.float32)
    first = jax.ops.segment_min(position, group, num_segments=n)
    last = jax.ops.segment_max(position, group, num_segments=n)
    return jnp.zeros((n,), jnp.float32).at[order].set(((first + last) / 2.0)[group])


def _normalise(raw: jax.Array, filled: jax.Array) -> jax.Array:
    total = raw.sum()
    uniform = filled / jnp.maximum(filled.sum(), 1)
    return jnp.where(total > 0, raw / jnp.where(total > 0, total, 1.0), uniform)


def age_histogram(state: BufferState, bins: int = 10) -> tuple[jax.Array, jax.Array]:
    """Histogram of slot ages (draws and insert attempts since insertion) over filled slots:
    ``(counts int32[bins], edges f32[bins + 1])``."""
    age = (state.counter - state.inserted_at).astype(jnp.float32)
    top = jnp.maximum(jnp.max(jnp.where(state.filled, age, 0.0)), 1.0)
    edges = jnp.linspace(0.0, top, bins + 1)
    index = jnp.clip(jnp.searchsorted(edges, age, side="right") - 1, 0, bins - 1)
    counts = jnp.zeros(bins, jnp.int32).at[index].add(state.filled.astype(jnp.int32))
    return counts, edges
