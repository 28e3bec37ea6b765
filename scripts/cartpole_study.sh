#!/usr/bin/env bash
# The CartPole study (docs/studies/cartpole-craftax.md): DR, robust PLR and ACCEL (parameter-perturbation mutator) at the
# cpu preset (1,000 updates = 4.1M env steps each, equal for all three since replay updates
# roll out as many steps; 3 vmapped seeds), then gymnax's default parameters, the 10x10
# log-spaced grid over pole length x force magnitude (heat maps in holdout_plots/grid.png) and
# 100 random levels. Finished runs are skipped and interrupted ones resumed.
set -euo pipefail
cd "$(dirname "$0")/.."
study=${1:-results/cartpole-study}
algos="dr robust-plr accel"
# shellcheck source=scripts/study_lib.sh
source scripts/study_lib.sh
for algo in $algos; do
  train "$algo" "$study/$algo" --env cartpole
done
# shellcheck disable=SC2046
.venv/bin/ued eval $(for algo in $algos; do echo "$study/$algo"; done) \
  --suite default grid random --levels 100 --attempts 10 --out "$study/holdout.csv"
