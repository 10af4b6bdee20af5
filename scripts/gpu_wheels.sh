#!/usr/bin/env bash
# Fetch what scripts/gpu_check.sh installs on a GPU machine that reaches no package index:
# the MMPose extra's pins (requirements-mmpose.txt) and the few runtime pins the check imports,
# as CPython wheels for that machine's Python (default 3.12, x86-64 Linux), and the sources of
# mmcv and xtcocotools, which have no such wheel and are compiled there. Run it here, in the
# repository root; the files land in .whl/ (ignored by git), about 47 MB.
set -euo pipefail
PY="${PY:-.venv/bin/python}"
TARGET_PY="${TARGET_PY:-3.12}"
mkdir -p .whl
# torchvision: the GPU image's own build matches its torch; ninja and wheel: the image has them
pins=$(sed 's/[ \t]*#.*//' requirements-mmpose.txt | grep -E '^[A-Za-z].*==' \
       | grep -vE '^(torchvision|mmcv|xtcocotools|ninja|wheel)==')
# what physio_core.config and the bench import, with their own needs (yapf needs platformdirs)
runtime="av==18.1.0 pydantic==2.14.3 pydantic-core==2.50.4 pydantic-settings==2.16.3
         typing-inspection annotated-types python-dotenv platformdirs"
platforms=()
for p in manylinux_2_28 manylinux_2_27 manylinux_2_24 manylinux_2_17 manylinux2014; do
  platforms+=(--platform "${p}_x86_64")
done
for pin in $pins $runtime; do
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version "$TARGET_PY" \
    --implementation cp "${platforms[@]}" --platform any -d .whl "$pin"
done
# mmcv's setup imports torch, so its metadata is read without build isolation
"$PY" -m pip download -q --no-deps --no-binary=:all: --no-build-isolation -d .whl \
  "$(grep -E '^mmcv==' requirements-mmpose.txt | sed 's/[ \t]*#.*//')" \
  "$(grep -E '^xtcocotools==' requirements-mmpose.txt | sed 's/[ \t]*#.*//')"
ls .whl | wc -l
du -sh .whl
