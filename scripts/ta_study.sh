#!/usr/bin/env bash
# The temporally-aware evidence (Jackson et al. 2024): LPG with and without the lifetime inputs,
# meta-trained by meta-gradient and by OpenES on GROOVE's all_vrandlife levels (lifetimes
# log-uniform in 10-250 updates) at the cpu preset with 3 vmapped seeds, then every rule
# meta-evaluated on LPG's five gridworlds with agents living 10, 50, 250 and 1,000 updates (the
# rule is fed each lifetime), against A2C for the same lifetime. The paper's claim: ES finds
# lifetime-dependent rules that generalise across training horizons; meta-gradients do not.
# ES_UPDATES sets ES's generations (default 100: about equal wall-clock with the meta-gradient's
# 1,000 steps, from `ued bench --program meta-train --preset cpu`). Finished runs are skipped and
# interrupted ones resumed, so the script can simply be re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
study=${1:-results/ta-study}
es_updates=${ES_UPDATES:-100}
# shellcheck source=scripts/study_lib.sh
source scripts/study_lib.sh
common=(--preset cpu --seeds 0,1,2 --env-config.distribution all_vrandlife)
for backend in gradient es; do
  updates=1000
  if [ "$backend" = es ]; then updates=$es_updates; fi
  meta_train "$study/$backend" --algo lpg --backend "$backend" --updates "$updates" "${common[@]}"
  meta_train "$study/$backend-ta" --algo lpg --backend "$backend" --updates "$updates" \
    --rule.lifetime-conditioned "${common[@]}"
done
for lifetime in 10 50 250 1000; do
  .venv/bin/ued meta-eval "$study/gradient" "$study/gradient-ta" "$study/es" "$study/es-ta" \
    --suite lpg-grids --lifetime "$lifetime" --steps 0 --out "$study/initial_$lifetime.csv"
  .venv/bin/ued meta-eval "$study/gradient" "$study/gradient-ta" "$study/es" "$study/es-ta" \
    --suite lpg-grids --lifetime "$lifetime" --out "$study/eval_$lifetime.csv"
done
