#!/usr/bin/env bash
# GPU check: on a CUDA machine, index generated photos and fine-tune both backbones, print
# images/s for each and confirm the results match the CPU within tolerance (exit 1 if not).
#
#   scripts/gpu_check.sh                  # device cuda, 2048 photos, 40 training steps
#   scripts/gpu_check.sh --device cpu     # dry run of the same path with tiny sizes
#   scripts/gpu_check.sh --help           # all options (scripts/gpu_check.py)
#
# Uses the Python in $PYTHON, else the checkout's .venv, else python3; zssbir must be installed
# there (pip install -e .).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python="${PYTHON:-}"
if [ -z "$python" ]; then
    if [ -x .venv/bin/python ]; then python=.venv/bin/python; else python=python3; fi
fi
exec "$python" scripts/gpu_check.py "$@"
