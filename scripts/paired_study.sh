#!/usr/bin/env bash
# The README's generator-agent study: PAIRED, the minimax adversary and REPAIRED against robust
# PLR and DR at the cpu preset (3,000 updates = 12.3M protagonist env steps each, 3 vmapped
# seeds), then the holdout suites and α-CVaR over 1,000 random solvable levels. DR is the
# `make train`-style run of scripts/cpu_study.sh (pass its directory as the second argument to
# reuse it). About 4 hours on 2 CPU cores; finished runs are skipped and interrupted ones
# resumed, so the script can simply be re-run after an interruption.
set -euo pipefail
cd "$(dirname "$0")/.."
study=${1:-results/paired-study}
dr=${2:-$study/dr}
algos="paired minimax-adversary repaired robust-plr"
# shellcheck source=scripts/study_lib.sh
source scripts/study_lib.sh
for algo in $algos; do
  train "$algo" "$study/$algo"
done
train dr "$dr"
runs="$(for algo in $algos; do echo "$study/$algo"; done) $dr"
# shellcheck disable=SC2086
.venv/bin/ued report $runs --out "$study/report" --html
cp "$study/report/figures/training.png" docs/paired_study.png
cp "$study/report/figures/generator.png" docs/paired_study_generator.png
