#!/usr/bin/env bash
# The meta-training study (docs/studies/lpg.md): LPG meta-trained by meta-gradient (1,000 meta-steps) and by
# OpenES (ES_UPDATES generations, each training every member for its whole 250-update lifetime;
# default 100: equal wall-clock with the meta-gradient, 0.145 s per meta-step against 1.42 s per
# generation in `ued bench --program meta-train --preset cpu`) at the cpu preset with 3 vmapped seeds, then both rules meta-evaluated at every
# checkpoint (and the initial rule) on LPG's gridworlds and the classic mazes against A2C, with
# agents living the cpu preset's 50 updates. Finished runs are skipped and interrupted ones
# resumed, so the script can simply be re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
study=${1:-results/meta-study}
# shellcheck source=scripts/study_lib.sh
source scripts/study_lib.sh
meta_train "$study/lpg-gradient" --algo lpg --preset cpu --seeds 0,1,2 --updates 1000 \
  --keep-checkpoints 0
meta_train "$study/lpg-es" --algo lpg --preset cpu --backend es --seeds 0,1,2 \
  --updates "${ES_UPDATES:-100}" --checkpoint-every 20 --eval-every 20 --keep-checkpoints 0
.venv/bin/ued meta-eval "$study/lpg-gradient" "$study/lpg-es" --suite lpg-grids mazes \
  --all-steps --out "$study/meta_eval.csv"
