#!/usr/bin/env bash
# The study of minimax's parallel curricula (docs/studies/parallel.md): robust PLR and ACCEL against PLR‖ and ACCEL‖
# at the cpu preset, 3 vmapped seeds each, at equal student env steps: 4.9M per seed (1,200
# sequential updates of 32 envs; PLR‖ rolls out 64 envs per update, so 600 updates; ACCEL‖ 96,
# so 400), each trained on 32 envs per gradient update and evaluated at the same env steps. Then
# `ued report`: the holdout suites and α-CVaR over 1,000 random solvable levels. About 20 minutes on
# 2 CPU cores; finished runs are skipped and interrupted ones resumed, so the script can simply be
# re-run after an interruption.
set -euo pipefail
cd "$(dirname "$0")/.."
study=${1:-results/parallel-study}
# shellcheck source=scripts/study_lib.sh
source scripts/study_lib.sh
train robust-plr "$study/robust-plr" --updates 1200 --eval-every 300 --checkpoint-every 300
train accel "$study/accel" --updates 1200 --eval-every 300 --checkpoint-every 300
train plr-parallel "$study/plr-parallel" --updates 600 --eval-every 150 --checkpoint-every 150
train accel-parallel "$study/accel-parallel" --updates 400 --eval-every 100 --checkpoint-every 100
runs="$study/robust-plr $study/plr-parallel $study/accel $study/accel-parallel"
# shellcheck disable=SC2086
.venv/bin/ued report $runs --out "$study/report" --html
cp "$study/report/figures/training.png" docs/parallel_study.png
