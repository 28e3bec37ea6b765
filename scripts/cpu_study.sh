#!/usr/bin/env bash
# The README's CPU study: DR, robust PLR, ACCEL, SFL, NCC-reg and NCC-learn at the cpu preset
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
# shellcheck disable=SC2086
.venv/bin/ued eval $runs --suite classic four-rooms small-corridor crossing perfect-medium random \
  --levels 100 --attempts 10 --out "$study/holdout.csv"
# shellcheck disable=SC2086
.venv/bin/ued eval $runs --suite cvar --levels 1000 --attempts 10 --out "$study/cvar.csv"
.venv/bin/python scripts/study_report.py "$study" --figure docs/study_comparison.png
