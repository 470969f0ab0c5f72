#!/usr/bin/env bash
# The prepared GPU check (docs/benchmarks.md, "GPU suite"): bash benchmarks/gpu_suite.sh --out DIR [--dry-run]
# Uses the project's .venv where there is one, else python3 with the packages the machine has.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}"
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"
exec "$PYTHON" benchmarks/gpu_suite.py "$@"
