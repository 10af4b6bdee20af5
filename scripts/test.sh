#!/usr/bin/env bash
# One command: install the test extras (pip + the Debian packages the browser tests need)
# and run the whole test suite, Postgres and browser tests included.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ] && ! { command -v chromium && command -v chromedriver; } >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
# the storage tests need the local PostgreSQL (127.0.0.1:5432, trust auth)
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
fi

bash scripts/setup_venv.sh -r requirements-test.txt
# the optional MMPose backend, so its adapter is tested on real MMPose models (random weights);
# mmcv is compiled once (about 20 min on 2 cores) and kept in ~/.cache/physiotrack/wheels
bash scripts/install_mmpose.sh .venv
exec .venv/bin/python -m pytest "$@"
