#!/usr/bin/env bash
# Issue 25's equivalence study (work in progress): JaxUED's own maze_dr.py, maze_plr.py (robust PLR)
# and maze_plr.py --use_accel at their default (paper) settings, against `ued train --preset
# paper` with the same settings, 3 seeds each, 500 updates (4.1M env steps per seed), evaluated
# every 100 updates. JaxUED runs from its repository (JAXUED=path to a checkout of DramaCow/jaxued
# at 0f8f128) with scripts/equivalence/jaxued_shims on PYTHONPATH; its evaluations (the 8 classic
# mazes, 10 attempts) go to <study>/jaxued/<algo>-<seed>.jsonl and its parameters to orbax
# checkpoints beside them. Finished runs are skipped (ours resume), so the script can be re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
study=$(realpath -m "${1:-results/equivalence}")
jaxued=${JAXUED:?set JAXUED to a checkout of DramaCow/jaxued at commit 0f8f128}
updates=${UPDATES:-500}
every=${EVERY:-100}
mkdir -p "$study/jaxued"

ours() {  # ours <algo>: 3 vmapped seeds at the paper preset
  local out="$study/ours/$1"
  if [ -f "$out/run.json" ]; then return; fi
  if [ -d "$out/checkpoints" ]; then
    .venv/bin/ued train --resume "$out" --no-progress
  else
    .venv/bin/ued train --algo "$1" --preset paper --seeds 0,1,2 --updates "$updates" \
      --eval-every "$every" --checkpoint-every "$every" --eval-suites classic random \
      --eval-levels 100 --eval-attempts 10 --keep-checkpoints 0 --out "$out" --no-progress
  fi
}

reference() {  # reference <name> <script> <seed> [options]: one JaxUED run, skipped if finished
  local log="$study/jaxued/$1-$3.jsonl"
  if [ -f "$log" ] && grep -q "\"num_updates\": $updates," "$log"; then return; fi
  rm -f "$log"
  (cd "$study/jaxued" && WANDB_JSONL="$log" \
    PYTHONPATH="$root/scripts/equivalence/jaxued_shims:$jaxued/src" \
    "$root/.venv/bin/python" "$jaxued/examples/$2" --run_name "$1" --seed "$3" \
    --num_updates "$updates" --eval_freq "$every" --checkpoint_save_interval 1 "${@:4}")
}

references() {  # references <seed>: JaxUED's DR, robust PLR and ACCEL
  reference dr maze_dr.py "$1"
  reference robust-plr maze_plr.py "$1"
  reference accel maze_plr.py "$1" --use_accel
}

references 0  # one seed of each side first: an early look at both
for algo in dr robust-plr accel; do ours "$algo"; done
references 1
references 2

# JaxUED's checkpoints on this library's held-out suites (the classic mazes and the 100 random
# solvable levels `ued train` evaluates on), with JaxUED's network, env and evaluation rollout.
PYTHONPATH="$root/scripts/equivalence/jaxued_shims:$jaxued/src:$jaxued/examples" \
  .venv/bin/python scripts/equivalence/jaxued_eval.py "$study/jaxued/checkpoints" \
  --out "$study/jaxued/eval.csv"
# Curves side by side and a bootstrap interval of the difference at every shared update.
.venv/bin/python scripts/equivalence_report.py "$study"
