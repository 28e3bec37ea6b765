#!/usr/bin/env bash
# The README's generator-agent study: PAIRED, flexible PAIRED, the minimax adversary and
# REPAIRED (dcd's) at the cpu preset, 1,000 updates = 4.1M protagonist env steps each, 3 vmapped
# seeds, every generator with DR's wall budget (25 walls + goal + agent). DR and robust PLR are
# the shipped agents (checkpoints/dr, checkpoints/robust-plr: the same preset, seeds and
# updates, trained by code these curricula share unchanged). Then `ued report`: the holdout
# suites, α-CVaR over 1,000 random solvable levels, the generated levels over training.
# About 1.5 hours on 2 CPU cores; finished runs are skipped and interrupted ones resumed, so the
# script can simply be re-run after an interruption.
set -euo pipefail
cd "$(dirname "$0")/.."
study=${1:-results/paired-study}
algos=${ALGOS:-"paired flexible-paired minimax-adversary repaired"}
# shellcheck source=scripts/study_lib.sh
source scripts/study_lib.sh
for algo in $algos; do
  train "$algo" "$study/$algo" --updates 1000 --keep-checkpoints 0
done
# Does the generator learn without minimax's entropy bonus (dcd's adv_entropy_coef 0)?
train paired "$study/paired-ent0" --updates 1000 --keep-checkpoints 0 \
  --curriculum.generator.ppo.ent-coef 0
runs="$(for algo in $algos; do echo "$study/$algo"; done) $study/paired-ent0"
runs="$runs shipped:dr shipped:robust-plr"
# shellcheck disable=SC2086
.venv/bin/ued report $runs --out "$study/report" --html
cp "$study/report/figures/training.png" docs/paired_study.png
cp "$study/report/figures/generator.png" docs/paired_study_generator.png
