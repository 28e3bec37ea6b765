# Shared by the study scripts (source it): train or meta-train a run, resuming an interrupted
# one and skipping a finished one, so a study can simply be re-run after an interruption.

train() {  # train <algo> <out> [ued train options...]: the cpu preset with 3 vmapped seeds
  if [ -f "$2/run.json" ]; then return; fi
  if [ -d "$2/checkpoints" ]; then
    .venv/bin/ued train --resume "$2" --no-progress
  else
    .venv/bin/ued train --algo "$1" --preset cpu --seeds 0,1,2 --out "$2" --no-progress "${@:3}"
  fi
}

meta_train() {  # meta_train <out> <ued meta-train options...>
  local out=$1
  shift
  if [ -f "$out/run.json" ]; then return; fi
  if [ -d "$out/checkpoints" ]; then
    .venv/bin/ued meta-train --resume "$out" --no-progress
  else
    .venv/bin/ued meta-train "$@" --out "$out" --no-progress
  fi
}
