#!/usr/bin/env bash
# The generator-agent study (docs/studies/generator-agents.md): PAIRED, flexible PAIRED, the minimax adversary and
# REPAIRED (dcd's) at the cpu preset, 1,000 updates = 4.1M protagonist env steps each, 3 vmapped
# seeds, every generator with DR's wall budget (25 walls + goal + agent). DR and robust PLR are
# the shipped agents (checkpoints/dr, checkpoints/robust-plr: the same preset, seeds and
# updates, trained by code these curricula share unchanged). Then `ued report`: the holdout
# suites, α-CVaR over 1,000 random solvable levels, the generated levels over training.
# About 1.5 hours on 2 CPU cores (the longer runs below: 40 more minutes); finished runs are skipped and interrupted ones resumed, so the
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
runs="$(for algo in $algos; do echo "$study/$algo"; done) shipped:dr shipped:robust-plr"
# One training update of each curriculum, timed back to back: the report's wall-clock axis.
if [ ! -f "$study/bench.jsonl" ]; then
  for algo in dr robust-plr $algos; do
    .venv/bin/ued bench --preset cpu --only train --algo "$algo" >> "$study/bench.jsonl.part"
  done
  mv "$study/bench.jsonl.part" "$study/bench.jsonl"
fi
# shellcheck disable=SC2086
.venv/bin/ued report $runs --out "$study/report" --html --bench "$study/bench.jsonl"
cp "$study/report/figures/training.png" docs/paired_study.png
cp "$study/report/figures/generator.png" docs/paired_study_generator.png
cp "$study/report/figures/training_wallclock.png" docs/paired_study_wallclock.png
# Longer: PAIRED and flexible PAIRED for 2,000 updates (8.2M protagonist steps), where flexible
# PAIRED's generators had begun to learn at 1,000 (about 40 more minutes).
long="$study/long"
for algo in paired flexible-paired; do
  train "$algo" "$long/$algo" --updates 2000 --keep-checkpoints 0
done
.venv/bin/ued report "$long/paired" "$long/flexible-paired" --out "$long/report" \
  --suite classic random
cp "$long/report/figures/generator.png" docs/paired_study_long.png
