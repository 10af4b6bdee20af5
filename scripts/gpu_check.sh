#!/usr/bin/env bash
# Check the MMPose backend on a GPU machine that reaches no package index, with that machine's
# own Python, torch and torchvision (a CUDA build): run scripts/gpu_wheels.sh here first, copy
# the repository with its .whl/ there, and run this from its root. It installs the wheels into
# /tmp/site, compiles mmcv with its CUDA ops (TORCH_CUDA_ARCH_LIST, default 9.0 for an
# H100/H200; about 4 min on 16 cores), runs tests/test_mmpose_backend.py on cuda:0 and times
# MMPose with random weights (python -m physio_core.bench --pose-only, with the person detector
# on every frame and on 1 in 5: DET_EVERY="1 5"). Logs go to $OUT
# (default out/gpu). Again on the same machine, without compiling: STAGE=2. SKIP_BENCH=1: no
# benchmark or profile; SKIP_TESTS=1: no tests.
# (A GPU host with an index uses scripts/install_mmpose.sh in a venv instead; see README.)
set -uo pipefail
export PYTHONUNBUFFERED=1
OUT="${OUT:-$PWD/out/gpu}"
mkdir -p "$OUT"
SITE=/tmp/site
WH=/tmp/wh
exec > >(tee -a "$OUT/gpu.log") 2>&1
t0=$(date +%s)
stamp() { echo "=== [$(( $(date +%s) - t0 ))s] $*"; }

if [ "${STAGE:-1}" = 1 ]; then
  stamp "machine"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  nproc; free -g | head -2
  command -v nvcc && nvcc --version | tail -2
  python3 -c "import sys, torch, numpy, cv2, scipy, torchvision, setuptools; print(sys.version.split()[0], torch.__version__, torch.version.cuda, 'numpy', numpy.__version__, 'cv2', cv2.__version__, 'scipy', scipy.__version__, 'tv', torchvision.__version__, 'setuptools', setuptools.__version__)"

  stamp "wheels"
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target $SITE .whl/*.whl || exit 1
  export PYTHONPATH=$SITE
  mkdir -p $WH
  python3 -m pip wheel -q --no-index --no-deps --no-build-isolation .whl/xtcocotools-*.tar.gz -w $WH || exit 1
  python3 -m pip install -q --no-index --no-deps --no-compile --target $SITE $WH/xtcocotools-*.whl || exit 1

  stamp "mmcv build (CUDA ops, sm_90)"
  MMCV_SRC=.whl/mmcv-*.tar.gz
  MMCV_DIR=/tmp/$(basename $MMCV_SRC .tar.gz)
  rm -rf "$MMCV_DIR" && tar xzf $MMCV_SRC -C /tmp
  NVCC=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc)
  export CUDA_HOME=${CUDA_HOME:-$(dirname "$(dirname "$NVCC")")}
  ( cd "$MMCV_DIR" && MMCV_WITH_OPS=1 FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}" MAX_JOBS=$(nproc) \
      timeout "${BUILD_S:-400}" python3 -m pip wheel -v --no-index --no-deps --no-build-isolation . -w $WH \
      > "$OUT/mmcv-build.log" 2>&1 )
  rc=$?
  grep -E "^\[[0-9]+/[0-9]+\]" "$OUT/mmcv-build.log" | tail -1
  if [ $rc != 0 ]; then
    grep -n -E "error|Error" "$OUT/mmcv-build.log" | head -20
    tail -15 "$OUT/mmcv-build.log"
    stamp "mmcv build failed rc=$rc"; exit 1
  fi
  ls -la $WH
  python3 -m pip install -q --no-index --no-deps --no-compile --target $SITE $WH/mmcv-*.whl || exit 1
fi

export PYTHONPATH=$SITE
stamp "import"
python3 -c "import mmcv, mmcv.ops; from mmcv.ops import nms; import torch; b=torch.rand(50,4,device='cuda')*100; b[:,2:]+=b[:,:2]; print('mmcv', mmcv.__version__, 'cuda nms kept', len(nms(b, torch.rand(50, device='cuda'), 0.5)[1]))" || exit 1
python3 -c "from physio_core.pose.mmpose_backend import _import_mmpose; _import_mmpose(); print('mmpose imports OK')" || exit 1

if [ "${SKIP_TESTS:-0}" != 1 ]; then
  stamp "tests on cuda:0"
  PHYSIO_TEST_MMPOSE_DEVICE=cuda:0 timeout 240 python3 -m pytest -q -rs -p no:cacheprovider -W ignore tests/test_mmpose_backend.py 2>&1 | grep -v Warning | tail -60
fi

[ "${SKIP_BENCH:-0}" = 1 ] && { stamp "done"; exit 0; }
for n in ${DET_EVERY:-1 5}; do
  stamp "bench, person detector on 1 frame in $n"
  PHYSIO_MMPOSE_ALLOW_RANDOM_WEIGHTS=1 PHYSIO_MMPOSE_BBOX_THR=0 PHYSIO_MMPOSE_MAX_PERSONS=1 \
    PHYSIO_MMPOSE_DET_EVERY=$n timeout 150 python3 -m physio_core.bench --pose-only \
    --mmpose-device cuda:0 --json "$OUT/bench-gpu-det$n.json"
done

stamp "profile: the 20 functions with the most own time over 150 frames on cuda:0"
PHYSIO_MMPOSE_ALLOW_RANDOM_WEIGHTS=1 PHYSIO_MMPOSE_BBOX_THR=0 PHYSIO_MMPOSE_MAX_PERSONS=1 \
  timeout 120 python3 - <<'EOF'
import cProfile, pstats
from physio_core.bench import TEST_CLIP, letterbox_frames
from physio_core.config import get_settings
from physio_core.pose.factory import get_estimator
s = get_settings().model_copy(update={"pose_backend": "mmpose", "mmpose_device": "cuda:0"})
frames, est = letterbox_frames(TEST_CLIP, limit=170), get_estimator(s)
for i, f in enumerate(frames[:20]):
    est.detect(f, i / 30)
prof = cProfile.Profile()
prof.runcall(lambda: [est.detect(f, i / 30) for i, f in enumerate(frames[20:])])
pstats.Stats(prof).sort_stats("tottime").print_stats(20)
EOF
stamp "done"
