"""The production pose backend: MMPose (RTMDet -> RTMPose -> VideoPose3D lifter), for CUDA hosts.

Per frame: a person detector finds boxes, a top-down 2D model puts COCO-17 (or H3.6M-17)
keypoints in each box, a light IoU tracker keeps a short 2D history per person, and a
temporal 2D->3D lifter turns each person's window into an H3.6M-17 3D pose for the current
frame. That 3D pose is converted to the canonical skeleton at this edge.

Models are built from the configs that ship inside the ``mmpose`` package (``.mim``), so a
deployment only chooses checkpoints (local paths or URLs; MMPose downloads a URL on first
use). Without checkpoints the networks keep their random initialisation: that is refused
unless ``mmpose_allow_random_weights`` is set, which only the tests do.

Install the optional stack with ``scripts/install_mmpose.sh`` (see README). If it is missing,
constructing the estimator raises ``PoseBackendUnavailable`` with a one-line hint.
"""

from __future__ import annotations

import importlib.util
import logging
import time
import warnings
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from physio_core.config import Settings, get_settings
from physio_core.pose.base import PoseBackendUnavailable, as_rgb_uint8
from physio_core.pose.converters import (
    Facing,
    bbox_from_keypoints,
    coco17_to_canonical_2d,
    h36m_array_to_canonical,
)
from physio_core.skeleton import N_JOINTS, J, PoseFrame

log = logging.getLogger("physiotrack.pose")

INSTALL_HINT = "install the MMPose extra with: scripts/install_mmpose.sh .venv (see README, 'MMPose backend')"

WHOLE_IMAGE = "whole_image"

# Defaults, relative to the mmpose package's ``.mim`` folder (the demo and configs it ships).
DEFAULT_DET_CONFIG = "demo/mmdetection_cfg/rtmdet_m_640-8xb32_coco-person.py"
DEFAULT_POSE2D_CONFIG = "configs/body_2d_keypoint/rtmpose/body8/rtmpose-m_8xb256-420e_body8-256x192.py"
DEFAULT_LIFTER_CONFIG = (
    "configs/body_3d_keypoint/video_pose_lift/h36m/"
    "video-pose-lift_tcn-243frm-supv-cpn-ft_8xb128-200e_h36m.py"
)
# The checkpoints MMPose publishes for the default configs (see README).
OFFICIAL_CHECKPOINTS = {
    "det": "https://download.openmmlab.com/mmpose/v1/projects/rtmpose/"
    "rtmdet_m_8xb32-100e_coco-obj365-person-235e8209.pth",
    "pose2d": "https://download.openmmlab.com/mmpose/v1/projects/rtmposev1/"
    "rtmpose-m_simcc-body7_pt-body7_420e-256x192-e48f03d0_20230504.pth",
    "lifter": "https://download.openmmlab.com/mmpose/body3d/videopose/"
    "videopose_h36m_243frames_fullconv_supervised_cpn_ft-88f5abbb_20210527.pth",
}

# The lifter's 2D normalisation statistics (bbox centre/scale) live in Human3.6M's
# 1000x1000 image space; the codec divides by the camera width, so the normalised window is
# encoded with that image size, not the frame's (where the statistics would be off-centre).
_H36M_IMAGE_SIZE = 1000

_NMS_IOU = 0.3
_TRACK_IOU = 0.3
_TRACK_MAX_MISSED = 15
_ROOT_HFOV_DEG = 60.0

# H3.6M-17 index pairs whose image-plane length gives the subject's pixels-per-metre
_SCALE_SEGMENTS = ((J.L_HIP, J.L_KNEE), (J.R_HIP, J.R_KNEE), (J.L_KNEE, J.L_ANKLE),
                   (J.R_KNEE, J.R_ANKLE), (J.PELVIS, J.THORAX), (J.L_SHOULDER, J.R_SHOULDER),
                   (J.L_HIP, J.R_HIP), (J.L_SHOULDER, J.L_ELBOW), (J.R_SHOULDER, J.R_ELBOW))


# ---------------------------------------------------------------------------------------
# imports and file resolution
# ---------------------------------------------------------------------------------------

# kept alive for the life of the process: dropping a torch.library.Library undoes its defs
_torchvision_schema_lib: Any = None


def _make_torchvision_importable() -> None:
    """Let ``import torchvision`` succeed when its compiled ops cannot load.

    PyPI's Linux torchvision wheels are CUDA builds; beside the CPU torch wheel their
    ``_C.so`` cannot load, and torchvision 0.28 then fails at import because it registers
    fake kernels for ``torchvision::nms``/``qnms`` without checking that the ops exist.
    MMPose only needs torchvision's pure-Python transforms (the NMS and RoIAlign it uses are
    mmcv's), so when the extension cannot load we declare those two schemas (no kernels):
    calling them raises a clear "no kernel" error instead of breaking every import. With a
    matched torch/torchvision pair (the GPU deployment) the extension loads and nothing is
    declared.
    """
    global _torchvision_schema_lib
    if _torchvision_schema_lib is not None:
        return
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return
    import torch

    lib_path = next(Path(p) / "_C.so" for p in spec.submodule_search_locations)
    if not lib_path.exists():
        return
    try:
        torch.ops.load_library(str(lib_path))
        return
    except (OSError, RuntimeError):
        pass
    lib = torch.library.Library("torchvision", "DEF")
    for op in ("nms", "qnms"):
        lib.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _torchvision_schema_lib = lib


# Notices the OpenMMLab releases we pin print with today's torch and Python, each time a model
# is built or first run; they concern those libraries' own code, not our use of it, and
# crowded out our messages in the command line's output.
_KNOWN_NOTICES = (
    (FutureWarning, r"`torch\.cuda\.amp\.autocast\(args\.\.\.\)` is deprecated"),
    (UserWarning, r"torch\.meshgrid: in an upcoming release"),
    (UserWarning, r"The metainfo config file .* does not exist"),
    (DeprecationWarning, r"'pkgutil\.find_loader' is deprecated"),
    (DeprecationWarning, r"pkg_resources is deprecated"),
)


def _import_mmpose() -> dict[str, Any]:
    """Import the MMPose stack, or raise PoseBackendUnavailable with an install hint."""
    for category, message in _KNOWN_NOTICES:
        warnings.filterwarnings("ignore", message=message, category=category)
    try:
        _make_torchvision_importable()
        import mmcv  # noqa: F401
        import mmdet.apis as mmdet_apis
        import mmpose.apis as mmpose_apis
        from mmengine.dataset import Compose, pseudo_collate
        from mmengine.registry import init_default_scope
        from mmpose.evaluation.functional import nms
        from mmpose.utils import adapt_mmdet_pipeline
    except Exception as exc:  # ImportError, or a broken binary (mmcv ops, torchvision)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PoseBackendUnavailable(
            f"the MMPose backend cannot be imported ({type(exc).__name__}: {first}); {INSTALL_HINT}"
        ) from None
    return dict(
        init_detector=mmdet_apis.init_detector,
        inference_detector=mmdet_apis.inference_detector,
        init_model=mmpose_apis.init_model,
        inference_topdown=mmpose_apis.inference_topdown,
        convert_keypoint_definition=mmpose_apis.convert_keypoint_definition,
        Compose=Compose,
        pseudo_collate=pseudo_collate,
        init_default_scope=init_default_scope,
        nms=nms,
        adapt_mmdet_pipeline=adapt_mmdet_pipeline,
    )


def mmpose_mim_dir() -> Path:
    """The ``.mim`` folder of the installed mmpose package (configs and demo configs)."""
    spec = importlib.util.find_spec("mmpose")
    if spec is None or spec.origin is None:
        raise PoseBackendUnavailable(f"mmpose is not installed; {INSTALL_HINT}")
    return Path(spec.origin).parent / ".mim"


def resolve_config(value: str | None, default: str) -> str:
    """A config given as a path, or relative to mmpose's ``.mim`` (or ``.mim/configs``)."""
    name = value or default
    mim = mmpose_mim_dir()
    for candidate in (Path(name).expanduser(), mim / name, mim / "configs" / name):
        if candidate.is_file():
            return str(candidate)
    raise PoseBackendUnavailable(f"MMPose config not found: {name!r} (looked as a path and under {mim})")


def clip_boxes_to_frame(dets: np.ndarray, w: int, h: int) -> np.ndarray:
    """(N, 5) xyxy+score detections clipped to a w×h frame; those with no area left inside it
    are dropped.

    RTMDet decodes its boxes over its padded square input, so a box can reach into the
    padding past the frame's edge, or lie wholly in it (seen with random weights on a GPU).
    """
    out = np.array(dets, np.float64, copy=True).reshape(-1, 5)
    out[:, [0, 2]] = out[:, [0, 2]].clip(0.0, w)
    out[:, [1, 3]] = out[:, [1, 3]].clip(0.0, h)
    return out[(out[:, 2] > out[:, 0]) & (out[:, 3] > out[:, 1])]


def boxes_around_keypoints(kpts: np.ndarray, scores: np.ndarray, w: int, h: int, *,
                           min_conf: float = 0.3, min_points: int = 6, widen: float = 1.25
                           ) -> np.ndarray | None:
    """(N, 4) xyxy boxes for the next frame, one per person of ``kpts`` (N, K, 2) pixels.

    Each box holds the person's confident keypoints, widened ``widen`` times about its centre
    (a detector's box holds the whole body, the keypoints stop at the eyes and ankles) and
    clipped to the frame. None when anyone has fewer than ``min_points`` confident keypoints
    or no box left inside the frame: then the detector must look again.
    """
    out = []
    for kp, sc in zip(kpts, scores):
        ok = np.all(np.isfinite(kp), axis=1) & (sc >= min_conf)
        if ok.sum() < min_points:
            return None
        lo, hi = kp[ok].min(axis=0), kp[ok].max(axis=0)
        centre, half = (lo + hi) / 2, (hi - lo) / 2 * widen
        out.append([*(centre - half), *(centre + half), 1.0])
    boxes = clip_boxes_to_frame(np.array(out).reshape(-1, 5), w, h)
    return boxes[:, :4] if len(boxes) == len(out) else None


def fold_batch_norms(net: Any) -> Any:
    """Fold each batch norm of ``net`` into the convolution before it, for inference only
    (mmcv's ``fuse_conv_bn``, as OpenMMLab's benchmark tools do): the same outputs, fewer
    layers to run.

    A convolution that several blocks share is first copied into each of them: RTMDet's head
    shares its convolutions across the feature levels, each level with its own batch norm,
    and folded in place the shared one would carry every level's batch norm at once.
    """
    import copy

    from mmcv.cnn import fuse_conv_bn
    from torch import nn

    seen: set[int] = set()
    for parent in list(net.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Conv2d):
                if id(child) in seen:
                    parent._modules[name] = copy.deepcopy(child)
                seen.add(id(child))
    return fuse_conv_bn(net)


def _tensors(out: Any) -> list:
    """A network's raw output (nested tuples / lists of tensors) as a flat list."""
    if hasattr(out, "shape"):
        return [out]
    return [t for o in out for t in _tensors(o)]


def folded_if_same(net: Any, input_shape: tuple[int, ...]) -> tuple[Any, bool]:
    """``net`` with its batch norms folded (a copy) when that copy computes what ``net`` does on a
    random input of ``input_shape``, else ``net`` itself; and whether it was folded.

    The folding assumes each batch norm follows its convolution. A network from another config
    could apply one before (a pre-activation block): that network is left as it is.
    """
    import copy

    import torch

    x = torch.rand(*input_shape, device=next(net.parameters()).device) * 255
    with torch.no_grad():
        want = _tensors(net(x, None, mode="tensor"))
        folded = fold_batch_norms(copy.deepcopy(net))
        got = _tensors(folded(x, None, mode="tensor"))
    same = len(got) == len(want) and all(
        g.shape == w.shape and torch.allclose(g, w, rtol=1e-2, atol=1e-2 * float(w.abs().max()))
        for g, w in zip(got, want))
    return (folded, True) if same else (net, False)


def resolve_checkpoint(value: str | None, weights_dir: Path | None) -> str | None:
    """A checkpoint path or URL; a bare file name is looked up in ``weights_dir``.

    A URL whose file already sits in ``weights_dir`` is read from there; otherwise MMPose
    downloads it (into torch hub's cache) on first use.
    """
    if not value:
        return None
    if "://" in value:
        if weights_dir is not None:
            local = Path(weights_dir) / value.rsplit("/", 1)[-1].split("?")[0]
            if local.is_file():
                return str(local)
        return value
    path = Path(value).expanduser()
    if not path.is_absolute() and weights_dir is not None and not path.exists():
        path = Path(weights_dir) / path
    if not path.is_file():
        raise PoseBackendUnavailable(f"MMPose checkpoint not found: {path}")
    return str(path)


# ---------------------------------------------------------------------------------------
# conversion to the canonical skeleton
# ---------------------------------------------------------------------------------------


def h36m_lifter_to_canonical(
    kpts3d: np.ndarray, scores: np.ndarray | None = None, *, facing: Facing = "frame"
) -> np.ndarray:
    """A pose lifter's H3.6M-17 output (17, 3) -> canonical pelvis-centred joints (N_JOINTS, 3).

    MMPose's H3.6M lifters (VideoPose3D, MotionBERT, ...) regress root-relative joints in
    Human3.6M *camera* coordinates, metres: +x image right, +y image down, +z away from the
    camera (MMPose's ``preprocess_h36m.py`` reads ``D3_Positions_mono`` / 1000; its 3D
    demo flips y and z to draw them upright). The joint order is already the canonical one;
    the toes are NaN.
    """
    joints, _ = h36m_array_to_canonical(kpts3d, "opencv", facing=facing, scores=scores)
    return joints


def _pixels_per_metre(kp_px: np.ndarray, joints_c: np.ndarray) -> float:
    """Image scale of the subject from 2D (pixels) vs 3D (metres, camera axes) segments."""
    pix = met = 0.0
    for a, b in _SCALE_SEGMENTS:
        pix += float(np.linalg.norm(kp_px[a] - kp_px[b]))
        met += float(np.linalg.norm((joints_c[a] - joints_c[b])[:2]))
    return pix / met if met > 0.05 and np.isfinite(pix) else float("nan")


def _approx_root(kp_px: np.ndarray, joints_cam: np.ndarray, image_wh: tuple[int, int]) -> np.ndarray:
    """Approximate pelvis position in the level camera frame C (+X right, +Y up, +Z to camera).

    The lifter output is root-relative; the pelvis pixel and the subject's image scale give a
    weak-perspective estimate with an assumed horizontal field of view (for sway and travel,
    not absolute distance), as the embedded backend does.
    """
    scale = _pixels_per_metre(kp_px, joints_cam)
    if not np.isfinite(scale) or scale <= 0:
        return np.full(3, np.nan)
    w, h = image_wh
    f_px = 0.5 * w / np.tan(np.radians(_ROOT_HFOV_DEG) / 2.0)
    cx, cy = kp_px[J.PELVIS]
    return np.array([(cx - 0.5 * w) / scale, -(cy - 0.5 * h) / scale, -f_px / scale])


# ---------------------------------------------------------------------------------------
# tracking
# ---------------------------------------------------------------------------------------


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


@dataclass
class _Track:
    track_id: int
    bbox: np.ndarray
    missed: int = 0
    kpts: deque = field(default_factory=deque)  # (17, 2) H3.6M pixel keypoints per frame
    boxes: deque = field(default_factory=deque)  # (4,) xyxy per frame


class _IouTracker:
    """Greedy IoU matching of this frame's boxes to last frame's, best score first."""

    def __init__(self, history: int) -> None:
        self.history = history
        self.tracks: dict[int, _Track] = {}
        self._next_id = 0

    def follow(self, track_ids: list[int], boxes: np.ndarray) -> list[_Track]:
        """Give the tracks ``track_ids`` their boxes for this frame, made from their own last
        keypoints (no matching needed); the others miss a frame."""
        out = []
        for tid, box in zip(track_ids, boxes):
            tr = self.tracks[tid]
            tr.bbox, tr.missed = box, 0
            out.append(tr)
        self._miss({tid: tr for tid, tr in self.tracks.items() if tid not in track_ids})
        return out

    def assign(self, boxes: np.ndarray) -> list[_Track]:
        free = dict(self.tracks)
        out: list[_Track] = []
        for box in boxes:
            best, best_iou = None, _TRACK_IOU
            for tid, tr in free.items():
                iou = _iou(box, tr.bbox)
                if iou > best_iou:
                    best, best_iou = tid, iou
            if best is None:
                tr = _Track(self._next_id, box, kpts=deque(maxlen=self.history),
                            boxes=deque(maxlen=self.history))
                self.tracks[tr.track_id] = tr
                self._next_id += 1
            else:
                tr = free.pop(best)
                tr.bbox, tr.missed = box, 0
            out.append(tr)
        self._miss(free)
        return out

    def _miss(self, tracks: dict[int, _Track]) -> None:
        for tid, tr in tracks.items():
            tr.missed += 1
            if tr.missed > _TRACK_MAX_MISSED:
                del self.tracks[tid]

    def reset(self) -> None:
        self.tracks.clear()


# ---------------------------------------------------------------------------------------
# the estimator
# ---------------------------------------------------------------------------------------


class MMPoseEstimator:
    """RTMDet + RTMPose + a temporal H3.6M lifter behind the ``PoseEstimator`` protocol.

    Returns every detected person (up to ``mmpose_max_persons``), each a canonical PoseFrame
    with ``keypoints_2d`` and ``bbox``. Feed the frames of one video in order: the lifter
    reads each tracked person's recent 2D history (missing past frames are padded with the
    oldest one; the window's future half with the current frame, as MMPose's online demo
    does). Call ``reset()`` between videos. Not thread-safe: one instance per stream.
    """

    name = "mmpose"

    def __init__(self, settings: Settings | None = None, *, facing: Facing = "frame") -> None:
        s = settings or get_settings()
        self.facing = facing
        self._api = _import_mmpose()
        import torch

        self.device = s.mmpose_device
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise PoseBackendUnavailable(
                f"mmpose_device is {self.device!r} but torch sees no CUDA device; "
                "set PHYSIO_MMPOSE_DEVICE=cpu (slow) or use the embedded backend"
            )
        self.bbox_thr = float(s.mmpose_bbox_thr)
        self.max_persons = int(s.mmpose_max_persons)
        self.det_every = int(s.mmpose_det_every)
        # between detections: the tracks followed and their boxes for the next frame
        self._followed: tuple[list[int], np.ndarray] | None = None
        self._since_det = 0
        self.whole_image = s.mmpose_det_config == WHOLE_IMAGE

        ckpts = {
            "det": None if self.whole_image else resolve_checkpoint(s.mmpose_det_checkpoint, s.mmpose_weights_dir),
            "pose2d": resolve_checkpoint(s.mmpose_pose2d_checkpoint, s.mmpose_weights_dir),
            "lifter": resolve_checkpoint(s.mmpose_lifter_checkpoint, s.mmpose_weights_dir),
        }
        missing = [k for k, v in ckpts.items() if v is None and not (k == "det" and self.whole_image)]
        self.random_weights = missing  # the models left with their random initialisation
        if missing and not s.mmpose_allow_random_weights:
            raise PoseBackendUnavailable(
                f"MMPose checkpoints not set for {', '.join(missing)}: set "
                + ", ".join(f"PHYSIO_MMPOSE_{k.upper()}_CHECKPOINT" for k in missing)
                + " (paths or URLs, see README)"
            )

        api = self._api
        try:
            # mmdet and mmpose set a process-wide "once" warnings filter when a checkpoint
            # lacks its metadata: that filter ends with the building
            with warnings.catch_warnings():
                self.detector = None
                if not self.whole_image:
                    det_cfg = resolve_config(s.mmpose_det_config, DEFAULT_DET_CONFIG)
                    self.detector = api["init_detector"](det_cfg, ckpts["det"], device=self.device)
                    self.detector.cfg = api["adapt_mmdet_pipeline"](self.detector.cfg)
                pose_cfg = resolve_config(s.mmpose_pose2d_config, DEFAULT_POSE2D_CONFIG)
                self.pose2d = api["init_model"](pose_cfg, ckpts["pose2d"], device=self.device)
                lifter_cfg = resolve_config(s.mmpose_lifter_config, DEFAULT_LIFTER_CONFIG)
                self.lifter = api["init_model"](lifter_cfg, ckpts["lifter"], device=self.device)
            self.unfolded: list[str] = []  # networks whose batch norms could not be folded
            if s.mmpose_fuse_conv_bn:
                if self.detector is not None:
                    self.detector, ok = folded_if_same(self.detector, (1, 3, 128, 128))
                    self.unfolded += [] if ok else ["det"]
                w, h = self.pose2d.cfg.get("codec", {}).get("input_size", (192, 256))
                self.pose2d, ok = folded_if_same(self.pose2d, (1, 3, h, w))
                self.unfolded += [] if ok else ["pose2d"]
                if self.unfolded:
                    log.warning("MMPose: batch norms of %s left as they are (folding them changed "
                                "the outputs)", ", ".join(self.unfolded))
        except PoseBackendUnavailable:
            raise
        except Exception as exc:  # bad config / checkpoint: say which, without a traceback
            raise PoseBackendUnavailable(f"MMPose models could not be built: {type(exc).__name__}: {exc}") from exc

        self.pose2d_dataset = self.pose2d.dataset_meta["dataset_name"]
        if self.pose2d_dataset not in ("coco", "h36m"):
            raise PoseBackendUnavailable(
                f"the 2D model must output COCO-17 or H3.6M-17 keypoints, got {self.pose2d_dataset!r}"
            )
        ds = self.lifter.cfg.test_dataloader.dataset
        self.seq_len = int(ds.get("seq_len", 1))
        self.causal = bool(ds.get("causal", False))
        stats = self.lifter.dataset_meta.get("stats_info") or {}
        self._norm_center = np.asarray(stats["bbox_center"], np.float32) if stats else None
        self._norm_scale = float(stats["bbox_scale"]) if stats else None
        api["init_default_scope"]("mmpose")
        self._lift_pipeline = api["Compose"](ds.pipeline)
        # past frames the window holds: all of it (causal) or its first half + the current one
        self._past = self.seq_len - 1 if self.causal else (self.seq_len - 1) // 2
        self._tracker = _IouTracker(history=self._past + 1)
        self._torch = torch
        self._frame_wh = (0, 0)
        # set to [] to time the stages of each detect() call: one {stage: ms} per frame (the
        # benchmark does); the GPU is synchronised around each stage then, a little slower
        self.stage_ms: list[dict[str, float]] | None = None

    # -- public API ---------------------------------------------------------------------

    def detect(self, frame_rgb: np.ndarray, timestamp_s: float | None = None) -> list[PoseFrame]:
        """One RGB uint8 frame (H, W, 3) -> a canonical PoseFrame per person found."""
        if self.lifter is None:
            raise RuntimeError("MMPoseEstimator is closed")
        if self.stage_ms is not None:
            self.stage_ms.append({})
        with self._timed("frame"):
            return self._detect(frame_rgb)

    def _detect(self, frame_rgb: np.ndarray) -> list[PoseFrame]:
        frame = as_rgb_uint8(frame_rgb)
        h, w = frame.shape[:2]
        self._frame_wh = (w, h)
        bgr = np.ascontiguousarray(frame[..., ::-1])  # OpenMMLab models are trained on BGR

        followed = self._followed if self._since_det + 1 < self.det_every else None
        self._followed = None
        if followed is not None:
            self._since_det += 1
            track_ids, boxes = followed
        else:
            self._since_det = 0
            with self._timed("detector"):
                boxes = self._person_boxes(bgr)
        if len(boxes) == 0:
            self._tracker.assign(np.zeros((0, 4)))
            return []
        with self._timed("pose2d"):
            results = self._api["inference_topdown"](self.pose2d, bgr, boxes, bbox_format="xyxy")
        kpts = np.stack([r.pred_instances.keypoints[0] for r in results]).astype(np.float64)
        scores = np.stack([r.pred_instances.keypoint_scores[0] for r in results]).astype(np.float64)
        scores = np.clip(np.nan_to_num(scores), 0.0, 1.0)

        if self.pose2d_dataset == "coco":
            kp_can, conf = coco17_to_canonical_2d(kpts, scores)
            kp_h36m = self._api["convert_keypoint_definition"](kpts, "coco", "h36m")
        else:
            kp_can = np.full((len(kpts), N_JOINTS, 2), np.nan)
            conf = np.zeros((len(kpts), N_JOINTS))
            kp_can[:, :17], conf[:, :17] = kpts, scores
            kp_h36m = kpts

        tracks = self._tracker.assign(boxes) if followed is None else self._tracker.follow(track_ids, boxes)
        if self.det_every > 1 and not self.whole_image:
            nxt = boxes_around_keypoints(kpts, scores, w, h)
            if nxt is not None:
                self._followed = ([tr.track_id for tr in tracks], nxt)
        for tr, kp, box in zip(tracks, kp_h36m, boxes):
            tr.kpts.append(np.asarray(kp, np.float32))
            tr.boxes.append(np.asarray(box, np.float32))
        with self._timed("lifter"):
            lifted = self._lift([self._window(tr) for tr in tracks])

        out = []
        for i, box in enumerate(boxes):
            joints = h36m_lifter_to_canonical(lifted[i], conf[i, :17], facing=self.facing)
            root = _approx_root(kp_h36m[i], lifted[i] * np.array([1.0, -1.0, -1.0]), (w, h))
            bbox = tuple(float(v) for v in box) if not self.whole_image else bbox_from_keypoints(
                kp_can[i], conf[i]) or (0.0, 0.0, float(w), float(h))
            out.append(PoseFrame(joints, conf[i], root, kp_can[i], bbox))
        return out

    def reset(self) -> None:
        """Forget tracks and 2D history (call between videos)."""
        self._tracker.reset()
        self._followed, self._since_det = None, 0

    def close(self) -> None:
        self.detector = self.pose2d = self.lifter = None
        self.reset()
        if self.device.startswith("cuda"):
            self._torch.cuda.empty_cache()

    # -- stages -------------------------------------------------------------------------

    @contextmanager
    def _timed(self, stage: str) -> Iterator[None]:
        """The block's wall time, in ms, as this frame's ``stage`` when timing is on."""
        if self.stage_ms is None:
            yield
            return
        cuda = self.device.startswith("cuda")
        if cuda:  # GPU work is asynchronous: wait for it at both ends of the stage
            self._torch.cuda.synchronize()
        t0 = time.perf_counter()
        try:
            yield
        finally:
            if cuda:
                self._torch.cuda.synchronize()
            self.stage_ms[-1][stage] = (time.perf_counter() - t0) * 1e3

    def _person_boxes(self, bgr: np.ndarray) -> np.ndarray:
        """(N, 4) xyxy person boxes, best first, at most ``max_persons``."""
        h, w = bgr.shape[:2]
        if self.whole_image:
            return np.array([[0.0, 0.0, float(w), float(h)]])
        det = self._api["inference_detector"](self.detector, bgr)
        inst = det.pred_instances.cpu().numpy()
        keep = (inst.labels == 0) & (inst.scores > self.bbox_thr)
        dets = clip_boxes_to_frame(np.concatenate([inst.bboxes[keep], inst.scores[keep, None]], axis=1),
                                   w, h)
        if len(dets) == 0:
            return np.zeros((0, 4))
        dets = dets[self._api["nms"](dets, _NMS_IOU)]
        dets = dets[np.argsort(-dets[:, 4])][: self.max_persons]
        return dets[:, :4].astype(np.float64)

    def _window(self, tr: _Track) -> tuple[np.ndarray, np.ndarray]:
        """(seq_len, 17, 2) keypoints and (seq_len, 4) boxes, padded at both ends."""
        kp, bx = np.stack(tr.kpts), np.stack(tr.boxes)
        before = self._past + 1 - len(kp)
        after = self.seq_len - self._past - 1
        idx = np.r_[np.zeros(before, int), np.arange(len(kp)), np.full(after, len(kp) - 1)]
        return kp[idx], bx[idx]

    def _lift(self, windows: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Windows of H3.6M 2D keypoints -> (N, 17, 3) root-relative camera-space metres."""
        data = []
        for kp, bx in windows:
            if self._norm_center is not None:
                # move/scale every frame's box to the lifter's training statistics
                center = 0.5 * (bx[:, None, :2] + bx[:, None, 2:])
                size = np.maximum(bx[:, 2] - bx[:, 0], bx[:, 3] - bx[:, 1])[:, None, None]
                kp = (kp - center) / np.maximum(size, 1e-6) * self._norm_scale + self._norm_center
                cam = dict(w=_H36M_IMAGE_SIZE, h=_H36M_IMAGE_SIZE)
            else:
                cam = dict(w=self._frame_wh[0], h=self._frame_wh[1])
            t, k = kp.shape[:2]
            info = dict(
                keypoints=kp.astype(np.float32),
                keypoints_visible=np.ones((t, k), np.float32),
                lifting_target=np.zeros((1, k, 3), np.float32),
                factor=np.zeros((t,), np.float32),
                lifting_target_visible=np.ones((1, k, 1), np.float32),
                camera_param=cam,
            )
            info.update(self.lifter.dataset_meta)
            data.append(self._lift_pipeline(info))
        with self._torch.no_grad():
            results = self.lifter.test_step(self._api["pseudo_collate"](data))
        out = []
        for r in results:
            frames = np.asarray(r.pred_instances.keypoints, np.float64).reshape(-1, 17, 3)
            # one target frame (VideoPose3D), or the whole window (seq2seq lifters)
            out.append(frames[self._past] if len(frames) == self.seq_len > 1 else frames[-1])
        return np.stack(out)
