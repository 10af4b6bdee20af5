"""MMPose backend: canonical conversion of H3.6M lifter output, and the real MMPose pipeline.

The pipeline tests build real MMPose models (RTMDet-nano person detector, RTMPose-t COCO-17,
VideoPose3D 27-frame lifter) from the configs inside the mmpose package with random weights
on CPU (no checkpoint is downloaded) and run frames of a real photo through
``MMPoseEstimator.detect``. With random weights the outputs are not anatomically meaningful,
so they check structure, order and consistency, not accuracy; the axes/left-right
conversion is checked exactly on a known pose. The pipeline tests skip only when mmpose is
not installed (scripts/install_mmpose.sh installs it). They run on the CPU; on a GPU host,
``PHYSIO_TEST_MMPOSE_DEVICE=cuda:0`` runs them on the GPU, and one more test there checks that
the GPU gives the CPU's poses.
"""

from __future__ import annotations

import importlib.util
import os
import sys

import numpy as np
import pytest

from physio_core.config import Settings
from physio_core.pose.base import PoseBackendUnavailable, PoseEstimator
from physio_core.pose.mmpose_backend import (
    DEFAULT_DET_CONFIG,
    DEFAULT_LIFTER_CONFIG,
    DEFAULT_POSE2D_CONFIG,
    WHOLE_IMAGE,
    MMPoseEstimator,
    boxes_around_keypoints,
    clip_boxes_to_frame,
    h36m_lifter_to_canonical,
    resolve_config,
)
from physio_core.skeleton import N_JOINTS, J

HAS_MMPOSE = importlib.util.find_spec("mmpose") is not None
needs_mmpose = pytest.mark.skipif(
    not HAS_MMPOSE, reason="mmpose is not installed (run scripts/install_mmpose.sh .venv)"
)

NANO_DET = "demo/mmdetection_cfg/rtmdet_nano_320-8xb32_coco-person.py"
RTMPOSE_T = "body_2d_keypoint/rtmpose/coco/rtmpose-t_8xb256-420e_coco-256x192.py"
LIFTER_27 = "body_3d_keypoint/video_pose_lift/h36m/video-pose-lift_tcn-27frm-supv_8xb128-160e_h36m.py"
W, H = 640, 480
DEVICE = os.environ.get("PHYSIO_TEST_MMPOSE_DEVICE", "cpu")


# ---------------------------------------------------------------------------------------
# conversion of a known Human3.6M camera-space pose (no mmpose needed)
# ---------------------------------------------------------------------------------------


def _h36m_camera_pose() -> np.ndarray:
    """A subject facing the camera, in H3.6M camera axes (x image right, y down, z away), m.

    Facing the camera, the subject's left is on the image's right (+x). The left wrist is
    held 0.3 m in front of the body (toward the camera: -z), the right knee is lifted
    forward (-z) too.
    """
    p = np.zeros((17, 3))
    p[J.R_HIP] = (-0.12, 0.0, 0.0)
    p[J.R_KNEE] = (-0.12, 0.25, -0.35)
    p[J.R_ANKLE] = (-0.12, 0.65, -0.30)
    p[J.L_HIP] = (0.12, 0.0, 0.0)
    p[J.L_KNEE] = (0.12, 0.45, 0.0)
    p[J.L_ANKLE] = (0.12, 0.88, 0.0)
    p[J.SPINE] = (0.0, -0.25, 0.0)
    p[J.THORAX] = (0.0, -0.50, 0.0)
    p[J.NECK] = (0.0, -0.60, -0.05)
    p[J.HEAD] = (0.0, -0.72, 0.0)
    p[J.L_SHOULDER] = (0.18, -0.48, 0.0)
    p[J.L_ELBOW] = (0.20, -0.22, -0.05)
    p[J.L_WRIST] = (0.20, -0.20, -0.30)
    p[J.R_SHOULDER] = (-0.18, -0.48, 0.0)
    p[J.R_ELBOW] = (-0.20, -0.22, 0.0)
    p[J.R_WRIST] = (-0.20, 0.02, 0.0)
    return p


def test_lifter_output_axes_map_to_canonical_exactly():
    cam = _h36m_camera_pose()
    out = h36m_lifter_to_canonical(cam)
    assert out.shape == (N_JOINTS, 3)
    # x -> +X (subject's left), y down -> +Y up, z away -> +Z facing (toward the camera)
    np.testing.assert_allclose(out[:17], cam * np.array([1.0, -1.0, -1.0]), atol=1e-12)
    assert np.all(np.isnan(out[[J.L_TOE, J.R_TOE]]))
    # spot checks in words: left is +X, up is +Y, the raised wrist and knee are in front (+Z)
    assert out[J.L_HIP, 0] > 0 > out[J.R_HIP, 0]
    assert out[J.L_SHOULDER, 0] > 0 > out[J.R_SHOULDER, 0]
    assert out[J.HEAD, 1] > out[J.THORAX, 1] > 0 > out[J.L_KNEE, 1] > out[J.L_ANKLE, 1]
    assert out[J.L_WRIST, 2] == pytest.approx(0.30)
    assert out[J.R_KNEE, 2] == pytest.approx(0.35)


@pytest.mark.parametrize("yaw_deg", [90.0, -90.0, 180.0, 35.0])
def test_lifter_output_is_body_facing_whatever_the_camera_side(yaw_deg: float):
    """The same pose seen from the side or the back gives the same canonical joints."""
    cam = _h36m_camera_pose()
    a = np.radians(yaw_deg)
    # rotate the subject about the camera's vertical (y) axis, around the pelvis, 3 m away
    rot_y = np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])
    turned = cam @ rot_y.T + np.array([0.4, 0.1, 3.0])
    expected = cam * np.array([1.0, -1.0, -1.0])
    np.testing.assert_allclose(h36m_lifter_to_canonical(turned)[:17], expected, atol=1e-9)
    # with facing="camera" the turn is kept: the left hip is no longer on +X
    kept = h36m_lifter_to_canonical(turned, facing="camera")
    left_hip = kept[J.L_HIP] - kept[J.PELVIS]
    assert np.degrees(np.arctan2(left_hip[2], left_hip[0])) == pytest.approx(yaw_deg, abs=1e-6)


def test_person_boxes_are_clipped_to_the_frame():
    """A box reaching past the frame is cut at its edge; one wholly outside it is dropped
    (RTMDet's boxes cover its padded input)."""
    dets = np.array([
        [-20.0, 10.0, 100.0, 500.0, 0.9],   # past the left and bottom edges
        [600.0, -5.0, 700.0, 200.0, 0.8],   # past the right and top edges
        [110.6, 511.8, 111.8, 512.3, 0.7],  # below the frame (seen on a GPU)
        [300.0, 480.0, 340.0, 520.0, 0.6],  # touching the bottom edge from outside
        [50.0, 479.5, 50.4, 490.0, 0.55],   # a sliver left inside
        [200.0, 100.0, 260.0, 300.0, 0.5],  # inside
    ])
    out = clip_boxes_to_frame(dets, W, H)
    np.testing.assert_allclose(out, [
        [0.0, 10.0, 100.0, 480.0, 0.9],
        [600.0, 0.0, 640.0, 200.0, 0.8],
        [50.0, 479.5, 50.4, 480.0, 0.55],
        [200.0, 100.0, 260.0, 300.0, 0.5],
    ])
    assert clip_boxes_to_frame(np.zeros((0, 5)), W, H).shape == (0, 5)


def test_a_box_follows_the_keypoints_until_too_few_are_seen():
    """Between detections a person's box is their confident keypoints' box, widened 1.25
    times about its centre and clipped to the frame; too few confident keypoints: no boxes."""
    kp = np.array([[100.0, 100.0], [140.0, 100.0], [120.0, 180.0], [100.0, 260.0],
                   [140.0, 260.0], [120.0, 140.0], [900.0, 900.0]])  # the last one unsure
    sc = np.array([0.9, 0.9, 0.8, 0.7, 0.7, 0.6, 0.1])
    # keypoints span x 100..140, y 100..260: centre (120, 180), half sizes 20 and 80 -> x1.25
    np.testing.assert_allclose(boxes_around_keypoints(kp[None], sc[None], W, H),
                               [[95.0, 80.0, 145.0, 280.0]])
    # near the frame's corner the box is clipped
    np.testing.assert_allclose(boxes_around_keypoints(kp[None] - 100.0, sc[None], W, H),
                               [[0.0, 0.0, 45.0, 180.0]])
    # one person seen with five confident keypoints: the detector must look again
    unsure = sc.copy()
    unsure[0] = 0.2
    assert boxes_around_keypoints(np.stack([kp, kp]), np.stack([sc, unsure]), W, H) is None
    # a person wholly outside the frame: none either
    assert boxes_around_keypoints(kp[None] + 1000.0, sc[None], W, H) is None


def test_missing_mmpose_is_a_clear_one_line_error(monkeypatch):
    """With mmpose not importable the constructor says how to install it, no traceback."""
    monkeypatch.setitem(sys.modules, "mmpose.apis", None)
    settings = Settings(mmpose_device="cpu", mmpose_allow_random_weights=True)
    with pytest.raises(PoseBackendUnavailable) as err:
        MMPoseEstimator(settings)
    msg = str(err.value)
    assert "\n" not in msg and "install_mmpose.sh" in msg
    assert err.value.__cause__ is None and err.value.__suppress_context__


# ---------------------------------------------------------------------------------------
# the real MMPose pipeline, random weights, CPU (or DEVICE)
# ---------------------------------------------------------------------------------------


def _frames(n: int) -> list[np.ndarray]:
    """n 640x480 RGB frames of Grace Hopper's portrait sliding right by 4 px a frame."""
    from matplotlib import cbook
    from PIL import Image

    with Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as im:
        photo = np.asarray(im.convert("RGB").resize((410, H)))
    frames = []
    for i in range(n):
        f = np.full((H, W, 3), 40, np.uint8)
        x = 60 + 4 * i
        f[:, x:x + photo.shape[1]] = photo
        frames.append(f)
    return frames


def _seeded_estimator(**kw) -> MMPoseEstimator:
    """Random weights from a fixed seed: the same networks (and detections) on every run."""
    import torch

    torch.manual_seed(0)
    return MMPoseEstimator(_settings(**kw))


def _settings(**kw) -> Settings:
    base = dict(
        mmpose_device=DEVICE,
        mmpose_det_config=NANO_DET,
        mmpose_pose2d_config=RTMPOSE_T,
        mmpose_lifter_config=LIFTER_27,
        mmpose_allow_random_weights=True,
    )
    return Settings(**(base | kw))


def _check_frame(pf, w: int = W, h: int = H) -> None:
    assert pf.joints.shape == (N_JOINTS, 3) and pf.confidence.shape == (N_JOINTS,)
    body = list(range(17))
    assert np.all(np.isfinite(pf.joints[body])), "lifted joints must be finite"
    np.testing.assert_allclose(pf.joints[J.PELVIS], 0.0, atol=1e-9)
    assert np.all(np.isnan(pf.joints[[J.L_TOE, J.R_TOE]]))
    assert np.all(pf.confidence[[J.L_TOE, J.R_TOE]] == 0)
    assert np.all((pf.confidence >= 0) & (pf.confidence <= 1))
    kp = pf.keypoints_2d
    assert kp.shape == (N_JOINTS, 2) and np.all(np.isfinite(kp[body]))
    # canonical 2D order built from COCO-17: pelvis/thorax are the hip/shoulder midpoints
    np.testing.assert_allclose(kp[J.PELVIS], 0.5 * (kp[J.L_HIP] + kp[J.R_HIP]))
    np.testing.assert_allclose(kp[J.THORAX], 0.5 * (kp[J.L_SHOULDER] + kp[J.R_SHOULDER]))
    np.testing.assert_allclose(kp[J.SPINE], 0.5 * (kp[J.PELVIS] + kp[J.THORAX]))
    x0, y0, x1, y1 = pf.bbox
    assert x1 > x0 and y1 > y0
    # top-down keypoints live in the (1.25x padded) person box; a few pixels of slack for
    # the sub-pixel boxes a random detector makes (float32 affine warps lose precision there)
    pad = 0.2 * max(x1 - x0, y1 - y0) + 4.0
    assert np.all((kp[body, 0] >= x0 - pad) & (kp[body, 0] <= x1 + pad))
    assert np.all((kp[body, 1] >= y0 - pad) & (kp[body, 1] <= y1 + pad))


@needs_mmpose
def test_default_configs_ship_with_mmpose():
    for cfg in (DEFAULT_DET_CONFIG, DEFAULT_POSE2D_CONFIG, DEFAULT_LIFTER_CONFIG,
                NANO_DET, RTMPOSE_T, LIFTER_27):
        assert resolve_config(cfg, cfg).endswith(".py")
    with pytest.raises(PoseBackendUnavailable, match="not found"):
        resolve_config("no/such_config.py", DEFAULT_POSE2D_CONFIG)


@needs_mmpose
def test_random_weights_are_refused_unless_allowed():
    with pytest.raises(PoseBackendUnavailable, match="PHYSIO_MMPOSE_POSE2D_CHECKPOINT"):
        MMPoseEstimator(_settings(mmpose_allow_random_weights=False))
    with pytest.raises(PoseBackendUnavailable, match="checkpoint not found"):
        MMPoseEstimator(_settings(mmpose_pose2d_checkpoint="/nonexistent/rtmpose.pth"))


@pytest.fixture(scope="module")
def whole_image_estimator():
    # a random-weight detector scores every box ~0.01 (RTMDet's prior), so the one-person
    # path uses the whole image as the person box, like MMPoseInferencer's det_model='whole_image'
    est = _seeded_estimator(mmpose_det_config=WHOLE_IMAGE)
    yield est
    est.close()


@needs_mmpose
def test_whole_image_pipeline_lifts_one_tracked_person(whole_image_estimator):
    est = whole_image_estimator
    assert isinstance(est, PoseEstimator) and est.name == "mmpose"
    assert est.seq_len == 27 and not est.causal
    est.reset()
    frames = _frames(20)
    for i, frame in enumerate(frames):
        people = est.detect(frame, i / 30.0)
        assert len(people) == 1
        _check_frame(people[0])
    # one track whose 2D history filled the past half of the 27-frame window
    assert len(est._tracker.tracks) == 1
    (track,) = est._tracker.tracks.values()
    assert len(track.kpts) == 14
    # the same frame always gives the same 2D keypoints (the models are in eval mode)
    again = est.detect(frames[-1], 20 / 30.0)[0]
    np.testing.assert_allclose(again.keypoints_2d, people[0].keypoints_2d, atol=1e-4)


@needs_mmpose
def test_bad_frames_are_refused(whole_image_estimator):
    with pytest.raises(ValueError, match="RGB frame"):
        whole_image_estimator.detect(np.zeros((H, W), np.uint8), 0.0)


@needs_mmpose
def test_detector_pipeline_returns_every_person_with_a_box():
    """RTMDet-nano (random weights, threshold 0) -> RTMPose-t -> lifter, two people a frame.

    Seeded random RTMDet-nano weights put ~100 tiny boxes above mmdet's own 0.05 score
    threshold; the best two after NMS go through the 2D model and the lifter.
    """
    est = _seeded_estimator(mmpose_bbox_thr=0.0, mmpose_max_persons=2)
    try:
        for i, frame in enumerate(_frames(3)):
            people = est.detect(frame, i / 30.0)
            assert len(people) == 2
            for pf in people:
                _check_frame(pf)
                x0, y0, x1, y1 = pf.bbox
                assert -1 <= x0 and -1 <= y0 and x1 <= W + 1 and y1 <= H + 1
        assert 2 <= len(est._tracker.tracks) <= 6
    finally:
        est.close()


@needs_mmpose
def test_with_det_every_3_the_detector_runs_on_every_third_frame():
    """Between detections each person keeps their track, their box made from their keypoints."""
    est = _seeded_estimator(mmpose_bbox_thr=0.0, mmpose_max_persons=2, mmpose_det_every=3)
    detections = []
    detector = est._api["inference_detector"]

    def counted(model, image):  # the real detector, counted
        detections.append(frame_index)
        return detector(model, image)

    est._api["inference_detector"] = counted
    try:
        ids = []
        for frame_index, frame in enumerate(_frames(7)):
            people = est.detect(frame, frame_index / 30.0)
            assert len(people) == 2
            for pf in people:
                _check_frame(pf)
            ids.append(sorted(t for t, tr in est._tracker.tracks.items() if tr.missed == 0))
        assert detections == [0, 3, 6]
        # frames 1-2 and 4-5 keep the tracks of the detection before them
        assert ids[0] == ids[1] == ids[2] and ids[3] == ids[4] == ids[5]
        est.reset()
        frame_index = "after reset"
        est.detect(_frames(1)[0], 0.0)
        assert detections == [0, 3, 6, "after reset"]  # a new video starts with a detection
    finally:
        est.close()


@needs_mmpose
@pytest.mark.parametrize("which", ["det", "pose2d"])
def test_folding_batch_norms_keeps_what_the_networks_compute(which):
    """The default RTMDet-m and RTMPose-m, with batch-norm statistics as trained ones have
    (not the identity of a fresh network), give the same raw outputs with their batch norms
    folded. RTMDet-m's head shares its convolutions across feature levels: folded in place,
    without copying them first, its outputs at the second and third levels would change."""
    import copy

    import torch

    from physio_core.pose.mmpose_backend import _import_mmpose, _tensors, fold_batch_norms

    api = _import_mmpose()
    torch.manual_seed(0)
    if which == "det":
        net = api["init_detector"](resolve_config(None, DEFAULT_DET_CONFIG), None, device="cpu")
        x = torch.rand(1, 3, 320, 320) * 255
    else:
        net = api["init_model"](resolve_config(None, DEFAULT_POSE2D_CONFIG), None, device="cpu")
        x = torch.rand(1, 3, 256, 192) * 255
    bns = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert len(bns) > 50
    for bn in bns:
        n = bn.num_features
        bn.running_mean.copy_(torch.randn(n) * 0.5)
        bn.running_var.copy_(torch.rand(n) + 0.5)
        bn.weight.data.copy_(torch.rand(n) + 0.5)
        bn.bias.data.copy_(torch.randn(n) * 0.2)
    net.eval()
    folded = fold_batch_norms(copy.deepcopy(net))
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in folded.modules())
    with torch.no_grad():
        want, got = (_tensors(m(x, None, mode="tensor")) for m in (net, folded))
    assert len(want) == len(got) > 0
    for a, b in zip(want, got):
        torch.testing.assert_close(b, a, rtol=1e-3, atol=1e-3 * float(a.abs().max()))


@needs_mmpose
def test_a_network_that_normalises_before_its_convolution_is_not_folded():
    """Folding assumes the batch norm follows the convolution; where a block applies it first,
    the estimator keeps the network as it is (the outputs would change)."""
    import torch
    from torch import nn

    from physio_core.pose.mmpose_backend import folded_if_same

    class Block(nn.Module):  # registered conv, bn; applied in the order ``pre_norm`` says
        def __init__(self, pre_norm: bool) -> None:
            super().__init__()
            self.conv, self.bn, self.pre_norm = nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4), pre_norm

        def forward(self, x, data_samples=None, mode="tensor"):
            return self.conv(self.bn(x)) if self.pre_norm else self.bn(self.conv(x))

    torch.manual_seed(0)
    for pre_norm in (False, True):
        net = Block(pre_norm).eval()
        net.bn.running_mean.copy_(torch.randn(4))
        net.bn.running_var.copy_(torch.rand(4) + 0.5)
        kept, folded = folded_if_same(net, (1, 4, 8, 8))
        assert folded is not pre_norm
        assert (kept is net) is pre_norm
        assert isinstance(kept.bn, nn.Identity) is not pre_norm
        x = torch.rand(1, 4, 8, 8)  # the folding was on a copy: ``net`` is the unfolded one
        with torch.no_grad():
            torch.testing.assert_close(kept(x), net(x), rtol=1e-4, atol=1e-5)


_BUILD_AND_RUN = f"""
import warnings
import numpy as np
from physio_core.config import Settings
from physio_core.pose.mmpose_backend import MMPoseEstimator
est = MMPoseEstimator(Settings(mmpose_device="cpu", mmpose_allow_random_weights=True, mmpose_bbox_thr=0,
                               mmpose_det_config={NANO_DET!r}, mmpose_pose2d_config={RTMPOSE_T!r},
                               mmpose_lifter_config={LIFTER_27!r}))
print("after building:", *(f[0] for f in warnings.filters[:1]))
frame = (np.random.default_rng(0).random((240, 320, 3)) * 255).astype(np.uint8)
for i in range(3):
    est.detect(frame, i / 30)
"""


@needs_mmpose
def test_the_openmmlab_notices_stay_out_of_the_output():
    """Building and running the models prints none of the known deprecation notices of the
    pinned OpenMMLab releases (they used to fill the command line's output for each video),
    and mmdet's process-wide "once" warnings filter does not outlive the building."""
    import subprocess
    from pathlib import Path

    proc = subprocess.run([sys.executable, "-c", _BUILD_AND_RUN], cwd=Path(__file__).resolve().parents[1],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "after building:" in proc.stdout and "once" not in proc.stdout
    for notice in ("torch.cuda.amp.autocast", "torch.meshgrid", "pkgutil.find_loader"):
        assert notice not in proc.stderr


@needs_mmpose
def test_stage_times_account_for_each_frame():
    """With timing on, each frame's detector, 2D pose and lifter times lie inside its own."""
    est = _seeded_estimator(mmpose_bbox_thr=0.0, mmpose_max_persons=1, mmpose_det_every=2)
    assert est.unfolded == []  # both networks run with their batch norms folded
    try:
        frames = _frames(4)
        est.detect(frames[0], 0.0)
        assert est.stage_ms is None  # off unless asked for
        est.reset()
        est.stage_ms = []
        for i, frame in enumerate(frames):
            assert len(est.detect(frame, i / 30.0)) == 1
    finally:
        est.close()
    assert [sorted(ms) for ms in est.stage_ms] == [
        ["detector", "frame", "lifter", "pose2d"], ["frame", "lifter", "pose2d"]] * 2
    for ms in est.stage_ms:
        assert all(v > 0 for v in ms.values())
        assert sum(v for k, v in ms.items() if k != "frame") < ms["frame"]


@needs_mmpose
def test_the_benchmark_rows_say_where_the_frame_time_goes():
    from physio_core.bench import mmpose_stage_figures

    import torch

    torch.manual_seed(0)
    settings = _settings(pose_backend="mmpose", mmpose_bbox_thr=0.0, mmpose_max_persons=1,
                         mmpose_det_every=3)
    figs = mmpose_stage_figures(settings, _frames(6), warmup=1)
    assert [f.name for f in figs] == [
        f"MMPose ({DEVICE}) stage: {s}" for s in ("person detector", "2D pose", "3D lifter",
                                                 "rest of the frame")]
    assert [len(f.runs) for f in figs] == [2, 6, 6, 6]  # frames 1..6 after the warm-up one
    assert all(f.na_reason is None and f.median > 0 for f in figs)
    assert figs[0].note.startswith("ran on 2 of 6 frames")


def _has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


@needs_mmpose
@pytest.mark.skipif(not _has_cuda(), reason="torch sees no CUDA device (runs on a GPU host)")
def test_the_gpu_gives_the_poses_the_cpu_gives():
    """The same seeded networks on the CPU and on the GPU, fed the same frames.

    TF32 is switched off so that both compute in float32. A random-weight RTMPose's SimCC
    logits are nearly flat, so a rounding difference can still move an argmax to another bin:
    a few keypoints in a hundred may differ, not more.
    """
    import torch

    frames = _frames(12)
    poses = {}
    tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        for device in ("cpu", "cuda:0"):
            est = _seeded_estimator(mmpose_device=device, mmpose_det_config=WHOLE_IMAGE)
            try:
                poses[device] = [est.detect(f, i / 30.0) for i, f in enumerate(frames)]
            finally:
                est.close()
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32
    body = list(range(17))
    off_2d = []
    for i, (cpu, gpu) in enumerate(zip(poses["cpu"], poses["cuda:0"], strict=True)):
        assert len(cpu) == len(gpu) == 1
        _check_frame(gpu[0])
        off_2d.append(np.linalg.norm(gpu[0].keypoints_2d[body] - cpu[0].keypoints_2d[body], axis=1))
        # a frame's lifted pose reads the 2D keypoints of the frames up to it: compare it
        # while those were all the same
        if all(np.all(o <= 1.0) for o in off_2d):
            np.testing.assert_allclose(gpu[0].joints[body], cpu[0].joints[body], atol=1e-3)
    assert np.mean(np.concatenate(off_2d) <= 1.0) >= 0.97  # pixels
