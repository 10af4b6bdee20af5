#!/usr/bin/env bash
# Install the optional MMPose pose backend into a virtualenv: scripts/install_mmpose.sh [VENV]
# (default VENV: .venv at the repository root; requirements.txt must already be installed).
#
# Idempotent: returns in about a second when every pin of requirements-mmpose.txt is
# installed with mmcv's compiled ops. mmcv 2.1.0 has no wheel for torch 2.13, so it is
# compiled from source once (about 20 min on 2 cores) against the venv's torch and kept in a
# wheelhouse keyed by the torch version: $PHYSIO_WHEELHOUSE, default
# ~/.cache/physiotrack/wheels/torch-<version>-<python tag>. On a GPU host with a CUDA torch
# and nvcc, mmcv's CUDA ops are built too.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-$ROOT/.venv}"
PY="$VENV/bin/python"
REQ="$ROOT/requirements-mmpose.txt"
[ -x "$PY" ] || { echo "install_mmpose: no python at $PY (create the venv and install requirements.txt first)" >&2; exit 2; }

# split requirements-mmpose.txt into its "[resolved]" and "[no-deps]" sections
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
awk -v r="$TMP/resolved.txt" -v n="$TMP/nodeps.txt" '
  /^# \[resolved\]/ {out=r; next} /^# \[no-deps\]/ {out=n; next}
  /^[A-Za-z]/ && out {sub(/[ \t]*#.*/, ""); print > out}' "$REQ"

installed() {
  "$PY" - "$TMP/resolved.txt" "$TMP/nodeps.txt" <<'EOF'
import glob, importlib.util, sys
from importlib.metadata import PackageNotFoundError, version
for path in sys.argv[1:]:
    for line in open(path):
        name, want = line.strip().split("==")
        try:
            if version(name).split("+")[0] != want:
                sys.exit(1)
        except PackageNotFoundError:
            sys.exit(1)
spec = importlib.util.find_spec("mmcv")  # the compiled ops (mmcv-lite has none)
if not glob.glob(f"{spec.submodule_search_locations[0]}/_ext*.so"):
    sys.exit(1)
EOF
}

if installed; then
  echo "install_mmpose: already installed in $VENV"
  exit 0
fi

PIP=("$PY" -m pip --disable-pip-version-check)
echo "install_mmpose: installing plain dependencies"
"${PIP[@]}" install -q -r "$TMP/resolved.txt"

TORCH_VERSION="$("$PY" -c 'import torch; print(torch.__version__)')"
PYTAG="$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
WHEELHOUSE="${PHYSIO_WHEELHOUSE:-$HOME/.cache/physiotrack/wheels/torch-$TORCH_VERSION-$PYTAG}"
MMCV_PIN="$(grep '^mmcv==' "$TMP/nodeps.txt")"
mkdir -p "$WHEELHOUSE"
if ! ls "$WHEELHOUSE"/mmcv-"${MMCV_PIN#mmcv==}"-*.whl >/dev/null 2>&1; then
  LOG="$WHEELHOUSE/mmcv-build.log"
  echo "install_mmpose: compiling $MMCV_PIN against torch $TORCH_VERSION (about 20 min on 2 cores; log: $LOG)"
  # --no-cache-dir: pip's own wheel cache does not know which torch a wheel was built against
  if ! MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" "${PIP[@]}" wheel --no-cache-dir \
      --no-build-isolation --no-deps "$MMCV_PIN" -w "$WHEELHOUSE" >"$LOG" 2>&1; then
    tail -n 30 "$LOG" >&2
    echo "install_mmpose: building $MMCV_PIN failed (log above: $LOG)" >&2
    exit 1
  fi
fi

echo "install_mmpose: installing OpenMMLab packages (--no-deps)"
"${PIP[@]}" install -q --no-deps --find-links "$WHEELHOUSE" --only-binary mmcv -r "$TMP/nodeps.txt"

installed || { echo "install_mmpose: pins still not satisfied after install" >&2; exit 1; }
cd "$ROOT"
"$PY" -c 'from physio_core.pose.mmpose_backend import _import_mmpose; _import_mmpose(); print("install_mmpose: mmpose imports OK")'
