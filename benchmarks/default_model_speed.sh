#!/usr/bin/env bash
# Embedding speed of the default model beside Lite0 (or of the MODELs given), end to end through
# the CLI (process start, model load, decoding and the network), alternating, each model REPEATS
# times; prints wall seconds per run.
# Usage: benchmarks/default_model_speed.sh PHOTO_FOLDER [REPEATS [MODEL...]]
set -euo pipefail
folder=$1; repeats=${2:-3}
if [ $# -gt 2 ]; then models=("${@:3}"); else models=(lite0-imagenet default); fi
out=$(mktemp -d)
echo "load average before: $(cut -d' ' -f1 /proc/loadavg); $(ls "$folder" | wc -l) files in $folder"
for i in $(seq "$repeats"); do
  for model in "${models[@]}"; do
    start=$(date +%s.%N)
    ZSSBIR_DATA_DIR="$out/data" python -m zssbir_core embed --model "$model" --output "$out/$model.npz" "$folder" >/dev/null
    end=$(date +%s.%N)
    echo "$model run $i: $(echo "$end - $start" | bc) s"
  done
done
rm -rf "$out"
