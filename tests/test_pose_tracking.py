"""PersonTracker: the followed identity never switches, on synthetic and real frames."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from physio_core.pose.converters import bbox_from_keypoints
from physio_core.pose.embedded import EmbeddedPoseEstimator
from physio_core.pose.tracking import PersonTracker, TrackerConfig
from physio_core.skeleton import N_JOINTS, J, PoseFrame

# a standing person's 2D keypoints, height 1 (head top at -0.5, toes at +0.5), centred
_TEMPLATE = np.zeros((N_JOINTS, 2))
for j, xy in {
    J.PELVIS: (0, 0.05), J.R_HIP: (-0.06, 0.05), J.R_KNEE: (-0.06, 0.26), J.R_ANKLE: (-0.06, 0.46),
    J.L_HIP: (0.06, 0.05), J.L_KNEE: (0.06, 0.26), J.L_ANKLE: (0.06, 0.46),
    J.SPINE: (0, -0.1), J.THORAX: (0, -0.25), J.NECK: (0, -0.38), J.HEAD: (0, -0.5),
    J.L_SHOULDER: (0.1, -0.25), J.L_ELBOW: (0.14, -0.1), J.L_WRIST: (0.15, 0.04),
    J.R_SHOULDER: (-0.1, -0.25), J.R_ELBOW: (-0.14, -0.1), J.R_WRIST: (-0.15, 0.04),
    J.L_TOE: (0.08, 0.5), J.R_TOE: (-0.08, 0.5),
}.items():
    _TEMPLATE[j] = xy


def person(cx: float, cy: float, height: float, conf: float = 0.9, wave: float = 0.0
           ) -> PoseFrame:
    """A synthetic candidate; ``wave`` raises the arms (pose change, same place)."""
    kp = _TEMPLATE * height + (cx, cy)
    kp[[J.L_WRIST, J.R_WRIST], 1] -= wave * height * 0.4
    c = np.full(N_JOINTS, conf)
    return PoseFrame(np.zeros((N_JOINTS, 3)), c, keypoints_2d=kp, bbox=bbox_from_keypoints(kp))


def centre_x(p: PoseFrame | None) -> float | None:
    return None if p is None else float(p.keypoints_2d[J.PELVIS, 0])


def shuffled(rng, cands):
    order = rng.permutation(len(cands))
    return [cands[i] for i in order]


def test_most_prominent_person_is_chosen_and_kept():
    rng = np.random.default_rng(1)
    tr = PersonTracker()
    ids = set()
    for t in range(60):
        a = person(200 + rng.normal(0, 2), 240, 300, wave=np.sin(t / 5))
        b = person(450 + rng.normal(0, 2), 250, 200)
        up = tr.update(shuffled(rng, [a, b]))
        assert centre_x(up.pose) == pytest.approx(200, abs=10)
        assert up.several_people and up.people_in_view == 2
        ids.add(up.track_id)
    assert len(ids) == 1 and tr.locked
    assert tr.frames_with_several_people == 60


def test_a_passer_by_crossing_in_front_never_becomes_the_target():
    rng = np.random.default_rng(2)
    tr = PersonTracker()
    statuses = []
    for t in range(80):
        target = person(320 + 3 * np.sin(t / 4), 240, 220)
        walker_x = -150 + 12 * t
        walker = person(walker_x, 245, 230)
        occluded = abs(walker_x - 320) < 70  # the walker hides the target
        cands = [walker] if occluded else [target, walker]
        if not 0 <= walker_x <= 800:  # the walker enters after the target was chosen
            cands = [target]
        up = tr.update(shuffled(rng, cands))
        statuses.append(up.status)
        if up.pose is not None:
            assert centre_x(up.pose) == pytest.approx(320, abs=5), (t, walker_x)
        if t >= 5 and not occluded:
            assert up.status == "tracking"
    assert "lost" in statuses  # the occlusion was seen as a loss, not a jump
    assert statuses[-1] == "tracking"


def test_camera_pan_and_a_sudden_jerk_do_not_swap_identities():
    rng = np.random.default_rng(3)
    tr = PersonTracker()
    shift = 0.0
    picked = None
    for t in range(60):
        if t < 40:
            shift += 25.0  # steady pan: 25 px per frame
        elif t == 40:
            shift -= 150.0  # jerk back by 0.75 of a person's height
        a = person(100 + shift, 240, 200, wave=np.sin(t / 3))
        b = person(380 + shift, 240, 190)
        up = tr.update(shuffled(rng, [a, b]))
        if t == 0:
            tr.pick((380, 240))  # the user wants the second person
            picked = tr.target_id
            continue
        assert up.track_id == picked
        assert centre_x(up.pose) == pytest.approx(380 + shift, abs=5), t


def test_a_brief_dropout_keeps_the_identity():
    tr = PersonTracker()
    ids = []
    for t in range(40):
        x = 200 + 4 * t
        cands = [] if 15 <= t < 21 else [person(x, 240, 250)]
        up = tr.update(cands)
        if cands:
            assert up.pose is cands[0]
            ids.append(up.track_id)
        elif t >= 15:
            assert up.status == "lost" and up.pose is None
    assert len(set(ids)) == 1


def test_single_person_backend_jumping_to_someone_else_is_dropped():
    # MediaPipe reports one person; for a while it reports somebody across the room
    tr = PersonTracker()
    for t in range(120):
        stranger = 20 <= t < 30 or t >= 60
        cand = person(520, 240, 210) if stranger else person(180, 240, 220)
        up = tr.update([cand])
        if stranger:
            assert up.pose is None and up.status == "lost", t
        else:
            assert centre_x(up.pose) == pytest.approx(180), t
    assert not up.several_people


def test_reacquired_only_near_where_it_was_last_seen():
    tr = PersonTracker()
    for _ in range(10):
        tr.update([person(150, 240, 200)])
    first = tr.target_id
    for _ in range(60):  # gone for two seconds; somebody else shows up far away
        up = tr.update([person(500, 240, 200)])
        assert up.pose is None
    up = tr.update([person(170, 240, 200), person(500, 240, 200)])
    assert up.status == "tracking" and up.track_id == first
    assert centre_x(up.pose) == pytest.approx(170)


def test_pick_before_the_first_frame_and_by_index():
    tr = PersonTracker()
    tr.pick((460, 200))  # user clicked the smaller person before playback
    for _ in range(20):
        up = tr.update([person(200, 240, 300), person(450, 240, 180)])
        assert centre_x(up.pose) == pytest.approx(450) and up.status == "tracking"
    tr.pick_index(0)
    up = tr.update([person(200, 240, 300), person(450, 240, 180)])
    assert centre_x(up.pose) == pytest.approx(200)
    with pytest.raises(IndexError):
        tr.pick_index(5)


def test_duplicate_detections_count_as_one_person():
    tr = PersonTracker()
    up = tr.update([person(200, 240, 300), person(202, 241, 300, conf=0.6)])
    assert up.people_in_view == 1 and not up.several_people
    assert up.pose.confidence[0] == pytest.approx(0.9)


def test_waiting_and_reset():
    tr = PersonTracker(TrackerConfig(init_frames=2))
    assert tr.update([]).status == "waiting"
    assert tr.update([person(100, 100, 100)]).status == "initialising"
    assert tr.update([person(100, 100, 100)]).status == "tracking"
    tr.reset()
    assert tr.target_id is None and tr.update([]).status == "waiting"


# --------------------------------------------------------------------- real photographs


def _photos() -> tuple[np.ndarray, np.ndarray]:
    import matplotlib.cbook as cbook

    skdata = pytest.importorskip("skimage.data", reason="scikit-image (requirements-test.txt)")
    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        hopper = np.asarray(Image.open(fh).convert("RGB"))[:512]
    return hopper, skdata.astronaut()


def test_follows_the_picked_person_in_real_photos_side_by_side():
    """Two real people 512 px apart in a panning view; each half is run through MediaPipe
    (a single-person backend) to get one candidate per person, as a multi-person backend
    would. The user picks the astronaut; the tracker must stay on her, colour included."""
    hopper, astro = _photos()
    scene = np.zeros((512, 1024 + 300, 3), np.uint8)
    scene[:, 100:612] = hopper
    scene[:, 700:1212] = astro
    tr = PersonTracker()
    est = [EmbeddedPoseEstimator(static_image_mode=True) for _ in range(2)]
    try:
        for t in range(6):
            pan = 20 * t  # the camera pans right: people move left in the image
            view = scene[:, pan:pan + 1024]
            cands = []
            for k, (x0, x1) in enumerate(((0, 612 - pan), (612 - pan, 1024))):
                for p in est[k].detect(np.ascontiguousarray(view[:, x0:x1]), t / 30.0):
                    p.keypoints_2d = p.keypoints_2d + (x0, 0)
                    b = p.bbox
                    p.bbox = (b[0] + x0, b[1], b[2] + x0, b[3])
                    cands.append(p)
            assert len(cands) == 2
            if t % 2:
                cands.reverse()
            up = tr.update(cands, view)
            if t == 0:
                tr.pick((900, 300))  # a click on the astronaut
                continue
            assert up.status == "tracking" and up.people_in_view == 2
            assert centre_x(up.pose) > 612 - pan  # in the astronaut's half
    finally:
        for e in est:
            e.close()


def test_single_person_backend_on_real_frames_does_not_teleport():
    """Real MediaPipe on a scene where the followed person (Grace Hopper) is replaced for a
    few frames by another person elsewhere: those frames are dropped, not followed."""
    hopper, astro = _photos()
    blank = np.zeros((512, 1100, 3), np.uint8)
    with_hopper = blank.copy()
    with_hopper[:, :512] = hopper
    with_astro = blank.copy()
    with_astro[:, 588:1100] = astro
    tr = PersonTracker()
    with EmbeddedPoseEstimator() as est:
        for t in range(16):
            frame = with_astro if 6 <= t < 10 else with_hopper
            up = tr.update(est.detect(frame, t / 30.0), frame)
            if 6 <= t < 10:
                assert up.pose is None, t
            elif t != 10:  # at 10 MediaPipe's own tracking still looks where the other was
                assert up.pose is not None and centre_x(up.pose) < 512, t
                if t == 0:
                    first = up.track_id
                assert up.track_id == first


def test_opt_in_reacquisition_anywhere_when_alone():
    tr = PersonTracker(TrackerConfig(reacquire_anywhere_after=30))
    for _ in range(10):
        tr.update([person(150, 240, 200)])
    first = tr.target_id
    for t in range(40):  # walked out on the left, comes back on the right
        up = tr.update([] if t < 20 else [person(500, 240, 200)])
        if t < 29:  # unseen for 30 frames at t = 29
            assert up.pose is None, t
    assert up.status == "tracking" and up.track_id == first
    assert centre_x(up.pose) == pytest.approx(500)
    # never while somebody else is in view too
    tr2 = PersonTracker(TrackerConfig(reacquire_anywhere_after=5))
    for _ in range(10):
        tr2.update([person(150, 240, 200), person(350, 240, 150)])
    for _ in range(20):
        up = tr2.update([person(350, 240, 150), person(560, 240, 200)])
        assert up.pose is None
