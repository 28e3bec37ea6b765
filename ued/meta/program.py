"""Meta-training as a program on the one host loop (``ued.loop.run``).

``chunk`` runs ``updates_per_chunk`` meta-steps (``ued.meta.metagrad.MetaGradient.step``, or
``ued.meta.evolution.EvolutionStrategy.step`` with ``backend = "es"``) in one
``lax.scan``, ``vmap``-ed over seeds; the loop owns ``metrics.csv``, progress, checkpoints and
bit-exact resume exactly as for UED training. At evaluation points, ``evaluate`` meta-evaluates:
on every level of the configured suites it trains a fresh agent with the current rule and one
with A2C for the same lifetime (``eval_lifetime`` updates, or the level's own) and reports both
returns and normalised scores.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .. import config as config_lib
from .. import registry
from ..diagnostics import Diagnostics
from ..env import EnvSpec
from ..parallel import REPLICATED, DataParallel
from ..train import seed_keys, seed_slice
from .agents import InnerAgent, InnerRollout, inner_optimizer
from .config import MetaTrainConfig, from_dict
from .evolution import EvolutionStrategy, lpg_evolution
from .lifetime import LifetimeTrainer, bounded_gain, normalised
from .metagrad import MetaGradient, Regularisers
from .rules import A2C, LPG, LPGNetwork


def inner_agent(config: MetaTrainConfig, spec: EnvSpec, env) -> InnerAgent:
    """The inner agent: tables on the state index for an env with tabular observations
    (``env.num_states``) and ``agent.tabular``; else the env's encoder (for the student, set by
    the env's settings, e.g. the gridworld's ``embedding``) then the agent's MLP."""
    a = config.agent
    if a.tabular and env.num_states:
        return InnerAgent(env.num_actions, None, a.prediction_size, (), env.num_states)
    return InnerAgent(env.num_actions, spec.make_encoder(config.env_config), a.prediction_size,
                      tuple(a.hidden))  # fmt: skip


def _optimizer(config: MetaTrainConfig, lr=None, critic_lr=None) -> optax.GradientTransformation:
    """The inner agents' optimiser (``ued.meta.agents.inner_optimizer``), optionally at other
    step sizes (A2C's tuned ones, traced)."""
    a = config.agent
    lr = a.lr if lr is None else lr
    critic_lr = a.critic_lr if critic_lr is None else critic_lr
    return inner_optimizer(a.optimizer, lr, critic_lr, a.max_grad_norm)


def _a2c(config: MetaTrainConfig, entropy_coef=None) -> A2C:
    a = config.agent
    return A2C(gamma=a.gamma, gae_lambda=a.gae_lambda, normalise_advantages=a.normalise_advantages,
               entropy_coef=a.entropy_coef if entropy_coef is None else entropy_coef)  # fmt: skip


class MetaProgramBase:
    """What every meta-training program shares on the host loop: a ``meta`` step (``init(key)``,
    ``step(state) -> (state, metrics)``, ``current_rule(state)``: the meta-gradient or
    ``EvolutionStrategy``) scanned ``updates_per_chunk`` times per chunk and vmapped over seeds;
    the config's key, JSON form and resume check. Subclasses set ``config``, ``meta``,
    ``several`` and ``parallel``."""

    config: Any
    meta: Any
    several: bool
    parallel: DataParallel | None

    def seed_keys(self):
        """One typed key per seed."""
        return seed_keys(self.config)

    def init(self, keys):
        """The initial meta-state (batched over seeds if several; initialised one seed after
        another, as ``ued.train`` does)."""
        return jax.lax.map(self.meta.init, keys) if self.several else self.meta.init(keys)

    def chunk(self, state, start):
        """``updates_per_chunk`` meta-steps. Returns ``(state, metrics [U] or [U, S], None)``."""
        step = jax.vmap(self.meta.step) if self.several else self.meta.step

        def body(state, _):
            state, metrics = step(state)
            if self.parallel is not None:  # each device keeps its share of the population
                layout = self.parallel.layout(self.state_axes(state))
                state = jax.tree_util.tree_map(jax.lax.with_sharding_constraint, state, layout)
            return state, metrics

        state, metrics = jax.lax.scan(body, state, None, length=self.config.updates_per_chunk)
        return state, metrics, None

    def state_axes(self, state):
        """Every state leaf is whole on every device (``ued.parallel.REPLICATED``)."""
        return jax.tree_util.tree_map(lambda _: REPLICATED, state)

    def progress(self, last: dict[str, float]) -> dict[str, str]:
        """The meta-objective and reward (meta-gradient) or the members' return (ES)."""
        shown = ("meta_loss", "reward", "return")
        return {name: f"{last[name]:.3g}" for name in shown if name in last}

    def config_differences(self, saved: dict[str, Any]) -> list[str]:
        """Fields where a saved config differs (``updates`` may be extended; how many
        checkpoints are kept does not change the run)."""
        return config_lib.differences(
            saved, self.config, ignore=config_lib.RESUMABLE, rebuild=from_dict
        )

    def config_dict(self) -> dict[str, Any]:
        """The JSON-ready config."""
        return config_lib.to_dict(self.config)

    def inner_sizes(self) -> dict[str, int]:
        """The inner agents' sizes a benchmark reports: the unroll and the agents' envs and
        steps per update."""
        c = self.config
        return {"unroll": c.unroll, "num_envs": c.agent.num_envs, "num_steps": c.agent.num_steps}


@dataclasses.dataclass(eq=False)
class MetaProgram(MetaProgramBase):
    """LPG meta-training as a ``ued.program.Program`` (built by ``ued.app.build.build_meta``).

    Attributes:
        config: the validated ``MetaTrainConfig``; env: the env; spec: its registry entry.
    """

    config: MetaTrainConfig
    env: Any
    spec: EnvSpec

    def __post_init__(self):
        c = self.config
        self.agent = inner_agent(c, self.spec, self.env)
        self.rollout = InnerRollout(self.env, self.agent, c.agent.num_envs, c.agent.num_steps)
        r = c.rule
        self.rule = LPG(
            network=LPGNetwork(
                hidden=r.hidden,
                embedding=r.embedding,
                prediction_size=c.agent.prediction_size,
                lifetime_conditioned=r.lifetime_conditioned,
            ),
            gamma=c.agent.gamma,
            alpha_y=r.alpha_y,
        )
        self.inner_optimizer = _optimizer(c)
        self.max_lifetime = int(self.env.max_lifetime)
        self.several = len(c.seed_list) > 1
        self.parallel = DataParallel.over(c.devices)
        if self.parallel is not None:
            self.parallel.check_divides(c.population, "population")
        self._suites = None
        self.curriculum = registry.META_ALGORITHMS.get(c.algo).make(self)
        self.meta = self._evolution() if c.backend == "es" else self._meta_gradient()
        self._diagnostics = Diagnostics(c.seed_list, self.several, self.spec, self.env,
                                        self.curriculum)  # fmt: skip

    def _meta_gradient(self) -> MetaGradient:
        c = self.config
        return MetaGradient(
            rule=self.rule,
            agent=self.agent,
            rollout=self.rollout,
            inner_optimizer=self.inner_optimizer,
            baseline_optimizer=self.inner_optimizer,  # the reference's value critic's
            meta_optimizer=optax.adam(c.meta_lr),
            population=c.population,
            unroll=c.unroll,
            critic=_a2c(c),
            regularisers=Regularisers(c.policy_entropy, c.y_entropy, c.pi_hat_l2, c.y_hat_l2),
            curriculum=self.curriculum,
            lifetime_of=self.lifetime_of,
        )

    def optimizer(self, lr=None, critic_lr=None) -> optax.GradientTransformation:
        """The inner agents' optimiser, optionally at other step sizes (A2C's tuned ones,
        traced)."""
        return _optimizer(self.config, lr, critic_lr)

    def a2c(self, entropy_coef=None) -> A2C:
        """The A2C rule at the inner agents' settings (optionally another entropy bonus)."""
        return _a2c(self.config, entropy_coef)

    @staticmethod
    def lifetime_of(level) -> jax.Array:
        """An inner agent's lifetime in updates (meta-training envs' levels carry it)."""
        return level.lifetime

    def _evolution(self) -> EvolutionStrategy:
        c = self.config
        return lpg_evolution(
            self.rule,
            LifetimeTrainer(self.agent, self.rollout, self.inner_optimizer, self.max_lifetime),
            population=c.population,
            sigma=c.es_sigma,
            lr=c.es_lr,
            lr_decay=c.es_lr_decay,
            lr_limit=c.es_lr_limit,
            level_source=self.env.sample_level,
            lifetime_of=self.lifetime_of,
            parallel=self.parallel,
        )

    # ---- the pure core -----------------------------------------------------------------------
    @property
    def steps_per_update(self) -> int:
        """Inner-agent env steps of one meta-step of one seed: the unrolled and meta rollouts
        (meta-gradient), or every member's full lifetime at most (ES)."""
        c = self.config
        rollouts = self.max_lifetime if c.backend == "es" else c.unroll + 1
        return c.population * rollouts * c.agent.num_envs * c.agent.num_steps

    def state_axes(self, state):
        """Where each state leaf has its population axis (``ued.parallel.REPLICATED``: none):
        the meta-gradient's inner agents (their parameters, levels and env states); the rule,
        its optimiser, the curriculum (level buffer) and ES's state are whole on every
        device."""
        axes = jax.tree_util.tree_map(lambda _: REPLICATED, state)
        if not hasattr(state, "population"):
            return axes
        agent_axis = 1 if self.several else 0
        population = jax.tree_util.tree_map(lambda _: agent_axis, state.population)
        return axes.replace(population=population)

    # ---- host-side hooks ---------------------------------------------------------------------
    def _trainer(self, env, optimizer, max_updates: int) -> LifetimeTrainer:
        rollout = InnerRollout(env, self.agent, self.config.agent.num_envs,
                               self.config.agent.num_steps)  # fmt: skip
        return LifetimeTrainer(self.agent, rollout, optimizer, max_updates)

    def eval_lifetimes(self, levels) -> tuple[jax.Array, int]:
        """``(lifetime of each evaluation level int32[N], their maximum)``: ``eval_lifetime``
        for every level if set, else each level's own (host-side: a static loop bound)."""
        lifetimes = np.asarray(levels.lifetime)
        if self.config.eval_lifetime:
            lifetimes = np.full_like(lifetimes, self.config.eval_lifetime)
        return jnp.asarray(lifetimes, jnp.int32), int(lifetimes.max())

    @functools.lru_cache(maxsize=8)  # noqa: B019 (one program per run; a few suite envs)
    def _rule_scorer(self, env, max_updates: int):
        """``(keys [N], rule params, levels [N], lifetimes int32[N]) -> (returns f32[N], reward
        curves f32[N, max_updates])`` of fresh agents trained by the learned rule in ``env``."""
        trainer = self._trainer(env, self.inner_optimizer, max_updates)

        def score(keys, rule_params, levels, lifetimes):
            one = functools.partial(trainer.score, rule=self.rule, rule_params=rule_params)
            return jax.vmap(lambda k, lv, n: one(k, level=lv, lifetime=n))(keys, levels, lifetimes)

        return jax.jit(score)

    @functools.lru_cache(maxsize=8)  # noqa: B019
    def baseline_scorer(self, env, max_updates: int):
        """``(keys [N], levels [N], lifetimes int32[N], lr f32[], critic_lr f32[], entropy_coef
        f32[]) -> (A2C returns f32[N], reward curves f32[N, max_updates], untrained agents'
        returns f32[N])`` in ``env``: A2C at the given settings (traced, so a sweep compiles
        once), and the same agents before any update (the floor of ``gain_normalised``)."""

        def score(keys, levels, lifetimes, lr, critic_lr, entropy_coef):
            trainer = self._trainer(env, _optimizer(self.config, lr, critic_lr), max_updates)
            a2c = _a2c(self.config, entropy_coef)

            def one(key, level, lifetime):
                returns, curve = trainer.score(key, a2c, None, level, lifetime)
                return returns, curve, trainer.untrained_return(key, level)

            return jax.vmap(one)(keys, levels, lifetimes)

        return jax.jit(score)

    def a2c_settings(self, suite: str) -> dict[str, float]:
        """The A2C baseline's ``lr``, ``critic_lr`` and ``entropy_coef`` on ``suite``: the env
        family's tuned values for that level family when ``a2c_tuned`` (``EnvSpec.tuned_a2c``;
        one step size for both networks), else the inner agents' own (the reference's A2C)."""
        a = self.config.agent
        tuned = None
        if self.config.a2c_tuned and self.spec.tuned_a2c is not None:
            tuned = self.spec.tuned_a2c(self.config.env_config, suite)
        if tuned:
            return {"lr": tuned["lr"], "critic_lr": tuned["lr"],
                    "entropy_coef": tuned["entropy_coef"]}  # fmt: skip
        return {"lr": a.lr, "critic_lr": a.critic_lr, "entropy_coef": a.entropy_coef}

    def _baselines(self, suite, seed: int):
        """A2C's and the untrained agents' results on a suite for one seed (independent of the
        rule, so computed once per run and reused at every evaluation)."""
        if not hasattr(self, "_baseline_cache"):
            self._baseline_cache = {}
        cache_key = (suite.suite, seed)
        if cache_key not in self._baseline_cache:
            settings = self.a2c_settings(suite.suite)
            lifetimes, longest = self.eval_lifetimes(suite.levels)
            results = self.baseline_scorer(suite.env, longest)(
                self.level_keys(seed, len(suite.names)),
                suite.levels,
                lifetimes,
                *(jnp.float32(settings[k]) for k in ("lr", "critic_lr", "entropy_coef")),
            )
            self._baseline_cache[cache_key] = tuple(np.asarray(x) for x in results)
        return self._baseline_cache[cache_key]

    @staticmethod
    def level_keys(seed: int, n: int):
        """One key per level, the same for every rule and every evaluation point (common random
        numbers: differences between rules and over meta-training are not key noise)."""
        return jax.random.split(jax.random.fold_in(jax.random.key(seed), 0x5EED), n)

    def _eval_levels(self):
        if self._suites is None:
            from ..evaluate import resolve_suite

            c = self.config
            self._suites = [
                resolve_suite(self.spec, self.env, s, num_levels=c.eval_levels, seed=0)
                for s in c.eval_suites
            ]
        return self._suites

    def evaluate(self, state, update: int, run: str) -> list[dict[str, Any]]:
        """Meta-evaluation rows (``evaluate_with_curves`` without the curves)."""
        return self.evaluate_with_curves(state, update, run)[0]

    def evaluate_with_curves(self, state, update: int, run: str):
        """Meta-evaluate the rule of every seed on every level of the configured suites.

        Returns ``(rows, curve rows)``. Rows, per level: the return of a fresh agent trained by
        the current rule (``lpg_return``), by A2C (``a2c_return``) and of the untrained agent
        (``untrained_return``), each agent's ``lifetime``; ``normalised`` = lpg / a2c (the GROOVE
        paper's; only where A2C's return is at least ``ued.meta.lifetime.MARGIN``, else NaN) and
        ``gain_normalised`` = (lpg - untrained) / (a2c - untrained) (where A2C's gain is at least
        the margin); with an oracle (tabular gridworlds) also ``optimal_return``,
        ``oracle_normalised`` = lpg / optimal (where the optimum is at least the margin) and
        ``oracle_gain`` = (lpg - untrained) / max(optimal - untrained, margin), defined on every
        level. Curve rows: the mean reward per step of each inner update, per level and rule
        (``inner_update``, ``rule``)."""
        rows, curve_rows = [], []
        for i, seed in enumerate(self.config.seed_list):
            rule_params = self.meta.current_rule(seed_slice(state, i, self.several))
            for suite in self._eval_levels():
                keys = self.level_keys(seed, len(suite.names))
                lifetimes, longest = self.eval_lifetimes(suite.levels)
                learned, learned_curves = (
                    np.asarray(x) for x in self._rule_scorer(suite.env, longest)(
                        keys, rule_params, suite.levels, lifetimes)
                )  # fmt: skip
                a2c, a2c_curves, untrained = self._baselines(suite, seed)
                columns = {
                    "lpg_return": learned,
                    "a2c_return": a2c,
                    "untrained_return": untrained,
                    "lifetime": lifetimes,
                    "normalised": normalised(learned, a2c),
                    "gain_normalised": normalised(learned, a2c, floor=untrained),
                }
                optimal = self._optimal(suite)
                if optimal is not None:  # exact optimal expected return (undiscounted)
                    columns["optimal_return"] = optimal
                    columns["oracle_normalised"] = normalised(learned, optimal)
                    columns["oracle_gain"] = bounded_gain(learned, untrained, optimal)
                columns = {k: np.asarray(v) for k, v in columns.items()}
                common = {"run": run, "seed": seed, "update": update, "suite": suite.suite}
                for j, name in enumerate(suite.names):
                    rows += [
                        {**common, "level": name, "statistic": k, "alpha": "", "value": float(v[j])}
                        for k, v in columns.items()
                    ]
                    for rule, curve in (("lpg", learned_curves[j]), ("a2c", a2c_curves[j])):
                        curve_rows += [
                            {**common, "level": name, "rule": rule, "inner_update": k,
                             "reward": float(r)}
                            for k, r in enumerate(curve) if np.isfinite(r)
                        ]  # fmt: skip
        return rows, curve_rows

    def _optimal(self, suite):
        """V* (undiscounted) of the suite's levels from the env's oracle, cached; None without
        an oracle."""
        from ..evaluate import oracle_values

        if not hasattr(self, "_optima"):
            self._optima = {}
        if suite.suite not in self._optima:
            self._optima[suite.suite] = oracle_values(suite.oracle, suite.env, suite.levels, 1.0)
        return self._optima[suite.suite]

    def inspect(self, state, update: int, aux, evaluated: bool, plots_dir: Path):
        """At evaluation points, a buffered curriculum's levels: their descriptors (grid size,
        episode length, objects, lifetime; unweighted and replay-weighted), scores and A2C / LPG
        returns, as ``curriculum.csv`` rows, and a grid of rendered buffer levels."""
        if not evaluated or self.config.backend == "es":
            return []
        return self._diagnostics.buffer(update, state.curriculum, plots_dir)

    def plots(self, out: Path, aux) -> None:
        """Meta-training curves."""
        from ..plots import training_curves

        curves = (
            ("meta_loss", "meta-objective"),
            ("reward", "reward per step of the updated agents"),
            ("return", "ES: members' final return"),
            ("pair_difference", "ES: |return difference| within antithetic pairs"),
            ("entropy", "policy entropy of the updated agents"),
            ("pi_hat", "LPG's mean policy target"),
            ("curriculum/score", "score of finished agents' levels (GROOVE: AR)"),
            ("curriculum/a2c_return", "A2C's return on finished agents' levels"),
            ("curriculum/lpg_return", "finished LPG agents' return"),
            ("curriculum/antagonist_env_steps", "A2C antagonist env steps per meta-step"),
        )
        (out / "plots").mkdir(exist_ok=True)
        training_curves(out / "metrics.csv", out / "plots" / "curves.png", curves=curves)
