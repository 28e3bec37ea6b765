#!/usr/bin/env bash
# The LPO study (docs/studies/lpo.md): LPO and TA-LPO (lifetime-conditioned, lifetimes drawn from [5, 50])
# meta-trained by OpenES on CartPole's parameter levels at the cpu preset (16 members, each a
# 50-update PPO run of 32 envs x 64 steps) for UPDATES generations (default 30) with 3 vmapped
# seeds, with the members' levels from DR and from robust PLR (the inner curriculum); then every
# evolved drift meta-evaluated against PPO and DPO on held-out random levels and the default
# parameters, with agents living the training lifetime (50) and twice it (100, unseen).
# The task-batch pair (TASK_UPDATES generations, default 15): every member trains on 2 tasks per
# generation, each a pinned CartPole level, ranked per task; the tasks fresh random levels (DR
# over tasks) or replayed from a buffer scored by algorithmic regret against PPO. Then the
# CartPole-trained drifts on held-out env families (Acrobot's default and random parameters,
# SpaceInvaders' default timers; lifetime 50, each env's own cpu-preset PPO), and LPO
# meta-trained on SpaceInvaders itself (MINATAR_UPDATES generations, default 10).
# Finished runs are skipped and interrupted ones resumed, so the script can simply be re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
study=${1:-results/lpo-study}
updates=${UPDATES:-30}
# shellcheck source=scripts/study_lib.sh
source scripts/study_lib.sh
common=(--algo lpo --env cartpole --preset cpu --seeds 0,1,2 --updates "$updates"
        --eval-every 0 --checkpoint-every 10 --updates-per-chunk 5 --keep-checkpoints 0)
meta_train "$study/lpo-dr" "${common[@]}"
meta_train "$study/ta-lpo-dr" "${common[@]}" --rule.lifetime-conditioned
meta_train "$study/lpo-robust-plr" "${common[@]}" --curriculum.inner-algo robust-plr
tasks=(--curriculum.tasks 2 --updates "${TASK_UPDATES:-15}")
meta_train "$study/lpo-tasks-dr" "${common[@]}" "${tasks[@]}"
meta_train "$study/lpo-tasks-ar" "${common[@]}" "${tasks[@]}" --curriculum.task-source buffer
for lifetime in 50 100; do
  .venv/bin/ued meta-eval "$study/lpo-dr" "$study/ta-lpo-dr" "$study/lpo-robust-plr" \
    "$study/lpo-tasks-dr" "$study/lpo-tasks-ar" \
    --suite random default --levels 8 --lifetime "$lifetime" --out "$study/meta_eval_$lifetime.csv"
done
# Held-out env: Acrobot needs more than 50 updates of 32 x 64 steps to learn at all, so its
# agents live 50 and 200 (lpo-dr only). (MinAtar is left out: LPO's generation deadlocks in
# XLA's CPU runtime there at the cpu preset; see docs/studies/lpo.md.)
.venv/bin/ued meta-eval "$study/lpo-dr" "$study/ta-lpo-dr" "$study/lpo-tasks-ar" \
  --env acrobot --suite default random --levels 8 --lifetime 50 \
  --out "$study/held_out_acrobot.csv"
.venv/bin/ued meta-eval "$study/lpo-dr" --env acrobot --suite default random --levels 8 \
  --lifetime 200 --out "$study/held_out_acrobot_200.csv"
