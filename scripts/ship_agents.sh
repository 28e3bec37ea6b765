#!/usr/bin/env bash
# Reproduce the agents shipped under checkpoints/ (DR, robust PLR, ACCEL, SFL, NCC-reg and PAIRED
# on the 13x13 maze at the cpu preset, 3 vmapped seeds, 1,000 updates = 4.1M env steps per seed),
# then package them: `ued ship` keeps the students' parameters, the config, the training logs,
# snapshots of what each curriculum trained on, and the report's evaluations. About 1.5 hours on
# 2 CPU cores; finished runs are skipped and interrupted ones resumed, so re-run it after an
# interruption. Then `ued report shipped:all` makes the table and figure of docs/studies/shipped-agents.md.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-results/ship}
algos=${ALGOS:-"dr robust-plr accel ncc-reg paired sfl"}
# shellcheck source=scripts/study_lib.sh
source scripts/study_lib.sh
for algo in $algos; do
  train "$algo" "$runs/$algo" --updates 1000 --keep-checkpoints 0
done
for algo in $algos; do
  .venv/bin/ued ship "$runs/$algo" --name "$algo" --out checkpoints
done
.venv/bin/ued report shipped:all --out results/report --html
cp results/report/figures/cvar.png docs/shipped_cvar.png
