#!/usr/bin/env bash
# The CPU study of curricula (docs/studies/curricula-cpu.md): DR, robust PLR, ACCEL, SFL, NCC-reg and NCC-learn at the cpu preset
# (3,000 updates = 12.3M env steps each, 3 vmapped seeds), then holdout suites and α-CVaR over
# 1,000 random solvable levels. About 3 hours on 2 CPU cores; a finished run is skipped, so the
# script can be re-run after an interruption (resume an unfinished run with `ued train --resume`).
set -euo pipefail
cd "$(dirname "$0")/.."
study=${1:-results/study}
algos="dr robust-plr accel sfl ncc-reg ncc-learn"
for algo in $algos; do
  if [ ! -f "$study/$algo/run.json" ]; then
    .venv/bin/ued train --algo "$algo" --preset cpu --seeds 0,1,2 --out "$study/$algo" --no-progress
  fi
done
runs=$(for algo in $algos; do echo "$study/$algo"; done)
# Every holdout suite, random and α-CVaR over 1,000 random solvable levels, 10 attempts per level
# (evaluations are cached in each run's evaluations/ folder).
# shellcheck disable=SC2086
.venv/bin/ued report $runs --out "$study/report" --html
cp "$study/report/figures/training.png" docs/study_comparison.png
