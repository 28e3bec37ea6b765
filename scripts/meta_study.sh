#!/usr/bin/env bash
# The README's meta-training study: LPG meta-trained by meta-gradient (500 meta-steps) and by
# OpenES (300 generations, about the same wall-clock on 2 CPU cores) at the cpu preset with 3
# vmapped seeds, then both rules meta-evaluated at every checkpoint (and the initial rule) on
# LPG's gridworlds and the classic mazes against A2C tuned per level family. Finished runs are
# skipped (resume an unfinished one with `ued meta-train --resume`).
set -euo pipefail
cd "$(dirname "$0")/.."
study=${1:-results/meta-study}
if [ ! -f "$study/lpg-gradient/run.json" ]; then
  .venv/bin/ued meta-train --algo lpg --preset cpu --seeds 0,1,2 --out "$study/lpg-gradient" \
    --no-progress
fi
if [ ! -f "$study/lpg-es/run.json" ]; then
  .venv/bin/ued meta-train --algo lpg --preset cpu --backend es --seeds 0,1,2 --updates 300 \
    --out "$study/lpg-es" --no-progress
fi
.venv/bin/ued meta-eval "$study/lpg-gradient" "$study/lpg-es" --suite lpg-grids mazes \
  --all-steps --out "$study/meta_eval.csv"
