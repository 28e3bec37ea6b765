#!/usr/bin/env bash
# The Craftax-Classic study (docs/studies/cartpole-craftax.md): DR against PLR at a CPU-sized budget (cpu preset: an MLP
# student, 32 envs x 128 steps, episodes capped at 1,000 steps; 300 updates = 1.2M env steps;
# 3 vmapped seeds), evaluated every 50 updates on 20 fixed world seeds, then on those worlds and
# 100 default-generated ones (4 attempts each): return, episode length and the 22 achievement
# rates. Writes the comparison figure (return and the most reached achievements against env
# steps, what each curriculum trained on) to docs/craftax_study.png.
set -euo pipefail
cd "$(dirname "$0")/.."
study=${1:-results/craftax-study}
figure=${2:-docs/craftax_study.png}
algos="dr plr"
# shellcheck source=scripts/study_lib.sh
source scripts/study_lib.sh
for algo in $algos; do
  train "$algo" "$study/$algo" --env craftax-classic --updates 300 --eval-every 50 \
    --checkpoint-every 50
done
# shellcheck disable=SC2046
.venv/bin/ued eval $(for algo in $algos; do echo "$study/$algo"; done) \
  --suite seeds random --levels 100 --attempts 4 --out "$study/holdout.csv"
.venv/bin/python - "$study" "$figure" $algos <<'PY'
import sys
from pathlib import Path

from ued.plots import compare_runs

study, figure, *algos = sys.argv[1:]
compare_runs({algo: Path(study) / algo for algo in algos}, Path(figure))
PY
