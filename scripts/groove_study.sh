#!/usr/bin/env bash
# The GROOVE study (docs/studies/groove.md): LPG meta-trained on domain randomisation against GROOVE's buffer
# scored by algorithmic regret (ar), positive value loss (pvl) and the exact regret (regret), at
# the cpu preset with 3 vmapped seeds and agents living 50 updates (the meta-evaluation
# lifetime), then every checkpoint meta-evaluated on LPG's gridworlds and the classic mazes.
# Each run's run.json holds its training seconds (train_s_total: over every resume) and every
# 20th meta-step's checkpoint is kept, so arms compare at equal wall-clock.
# Finished runs are skipped and interrupted ones resumed, so the script can simply be re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
study=${1:-results/groove-study}
# shellcheck source=scripts/study_lib.sh
source scripts/study_lib.sh
common=(--preset cpu --seeds 0,1,2 --env-config.lifetime 50 --checkpoint-every 20 --keep-checkpoints 0)
meta_train "$study/dr" --algo lpg "${common[@]}"
for score in ar pvl regret; do
  meta_train "$study/$score" --algo groove --curriculum.score "$score" "${common[@]}"
done
.venv/bin/ued meta-eval "$study/dr" "$study/ar" "$study/pvl" "$study/regret" --suite lpg-grids mazes \
  --steps 0 100 200 300 400 500 --out "$study/meta_eval_all.csv"
