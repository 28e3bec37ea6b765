#!/usr/bin/env bash
# The README's meta-training study: LPG meta-trained by meta-gradient (500 meta-steps) and by
# OpenES (300 generations, the same cost per step on 2 CPU cores) at the cpu preset with 3
# vmapped seeds, then both rules meta-evaluated at every checkpoint (and the initial rule) on
# LPG's gridworlds and the classic mazes against A2C tuned per level family. Finished runs are
# skipped and interrupted ones resumed, so the script can simply be re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
study=${1:-results/meta-study}
# shellcheck source=scripts/study_lib.sh
source scripts/study_lib.sh
meta_train "$study/lpg-gradient" --algo lpg --preset cpu --seeds 0,1,2
meta_train "$study/lpg-es" --algo lpg --preset cpu --backend es --seeds 0,1,2 --updates 300
.venv/bin/ued meta-eval "$study/lpg-gradient" "$study/lpg-es" --suite lpg-grids mazes \
  --all-steps --out "$study/meta_eval.csv"
