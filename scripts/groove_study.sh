#!/usr/bin/env bash
# The README's GROOVE study: LPG meta-trained on domain randomisation against GROOVE's buffer
# scored by algorithmic regret (ar), positive value loss (pvl) and the exact regret (regret), at
# the cpu preset with 3 vmapped seeds and agents living 50 updates (the meta-evaluation
# lifetime), then every checkpoint meta-evaluated on LPG's gridworlds and the classic mazes.
# Each run's run.json holds its training seconds, for comparisons at equal wall-clock.
# Finished runs are skipped (resume an unfinished one with `ued meta-train --resume`).
set -euo pipefail
cd "$(dirname "$0")/.."
study=${1:-results/groove-study}
common=(--preset cpu --seeds 0,1,2 --env-config.lifetime 50 --no-progress)
if [ ! -f "$study/dr/run.json" ]; then
  .venv/bin/ued meta-train --algo lpg "${common[@]}" --out "$study/dr"
fi
for score in ar pvl regret; do
  if [ ! -f "$study/$score/run.json" ]; then
    .venv/bin/ued meta-train --algo groove --curriculum.score "$score" "${common[@]}" \
      --out "$study/$score"
  fi
done
.venv/bin/ued meta-eval "$study/dr" "$study/ar" "$study/pvl" "$study/regret" \
  --suite lpg-grids mazes --all-steps --out "$study/meta_eval.csv"
