#!/usr/bin/env bash
# Create .venv (Python 3.11) and install the pinned requirements given as arguments.
# Idempotent: pip skips what is already installed, so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip wheel "setuptools<80"
.venv/bin/python -m pip install -q "$@"
