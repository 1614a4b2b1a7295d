#!/bin/bash
# Usage: benchmarks/train_malloc.sh [DATA]   (benchmarks/cpu_allocator.py's 12-step cpu-lite0 child, twice per arm)
# Training step speed: the training thresholds (1 GiB, the default now) against the bounded ones
# (32 MiB / 128 MiB, what training got before), alternating, fresh process each.
cd "$(dirname "$0")/.."
DATA="${1:-../shared/data/sketchy-seen100}"
for i in 1 2; do
  for arm in training bounded; do
    if [ $arm = bounded ]; then
      env GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=134217728 \
        python benchmarks/cpu_allocator.py --child train "$DATA" | tail -1 | sed "s/^/$arm /"
    else
      python benchmarks/cpu_allocator.py --child train "$DATA" | tail -1 | sed "s/^/$arm /"
    fi
    echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
  done
done
