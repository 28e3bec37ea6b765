#!/usr/bin/env bash
# Issue 25's equivalence study: JaxUED's own maze_dr.py, maze_plr.py (robust PLR) and
# maze_plr.py --use_accel at their default (paper) settings, against `ued train --preset paper`
# with the same settings, 3 seeds each, 500 updates (4.1M env steps per seed), evaluated every 100
# updates on the same held-out suites (the 8 classic mazes and 100 random solvable levels, 10
# attempts). JaxUED runs from its repository (JAXUED=path to a checkout of DramaCow/jaxued at
# 0f8f128) with scripts/equivalence/jaxued_shims on PYTHONPATH; each run's checkpoints are then
# played on our suites by scripts/equivalence/jaxued_eval.py (jaxued/eval-<algo>-<seed>.csv).
# The study folder (default docs/equivalence) keeps only small files in git (logs, evaluations,
# report, figure; checkpoints are ignored), so a study stopped part-way resumes from the last
# finished run: runs with an evaluation are skipped, ours resume from their checkpoints.
#   JAXUED=../jaxued bash scripts/equivalence_study.sh [study folder]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
study=$(realpath -m "${1:-docs/equivalence}")
jaxued=${JAXUED:?set JAXUED to a checkout of DramaCow/jaxued at commit 0f8f128}
updates=${UPDATES:-500}
every=${EVERY:-100}
mkdir -p "$study/jaxued"

ours() {  # ours <algo>[+<variant>] [options]: 3 vmapped seeds at the paper preset (a variant:
  # a diagnostic run with the options, settings moved away from JaxUED's)
  local out="$study/ours/$1"
  if [ -f "$out/run.json" ]; then return; fi
  if [ -d "$out/checkpoints" ] && [ -n "$(ls "$out/checkpoints")" ]; then
    .venv/bin/ued train --resume "$out" --no-progress
  else
    .venv/bin/ued train --algo "${1%%+*}" --preset paper --seeds 0,1,2 --updates "$updates" \
      --eval-every "$every" --checkpoint-every "$every" --eval-suites classic random \
      --eval-levels 100 --eval-attempts 10 --keep-checkpoints 0 --out "$out" --no-progress \
      "${@:2}"
  fi
}

reference() {  # reference <name> <script> <seed> [options]: one JaxUED run, then its evaluation
  local log="$study/jaxued/$1-$3.jsonl" evaluation="$study/jaxued/eval-$1-$3.csv"
  local path="$root/scripts/equivalence/jaxued_shims:$jaxued/src"
  if [ -f "$evaluation" ]; then return; fi
  if ! { [ -f "$log" ] && grep -q "\"num_updates\": $updates," "$log"; }; then
    rm -rf "$log" "$study/jaxued/checkpoints/$1/$3"  # an unfinished run restarts
    (cd "$study/jaxued" && WANDB_JSONL="$log" PYTHONPATH="$path" \
      "$root/.venv/bin/python" "$jaxued/examples/$2" --run_name "$1" --seed "$3" \
      --num_updates "$updates" --eval_freq "$every" --checkpoint_save_interval 1 "${@:4}")
  fi
  # JaxUED's checkpoints on this library's held-out suites, with JaxUED's network, env and
  # evaluation rollout.
  PYTHONPATH="$path:$jaxued/examples" .venv/bin/python scripts/equivalence/jaxued_eval.py \
    "$study/jaxued/checkpoints" --run "$1" --seed "$3" --out "$evaluation"
}

# One algorithm at a time, so that each comparison is complete as early as possible.
for seed in 0 1 2; do reference dr maze_dr.py "$seed"; done
ours dr
# Diagnostics: this library's default maze, one setting at a time (the paper preset has
# JaxUED's 7 actions and MiniGrid cells / 10; ours by default one-hot cells and 3 actions)
ours dr+one-hot --env-config.observation one-hot
ours dr+3actions+one-hot --env-config.observation one-hot --env-config.noop-actions 0
for seed in 0 1 2; do reference robust-plr maze_plr.py "$seed"; done
ours robust-plr
for seed in 0 1 2; do reference accel maze_plr.py "$seed" --use_accel; done
ours accel

# Curves side by side and a bootstrap interval of the difference at every shared update.
.venv/bin/python scripts/equivalence_report.py "$study"
