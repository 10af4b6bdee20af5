"""23 named, signed anatomical angles from the canonical skeleton.

Names follow OpenSim (Rajagopal / gait2392 coordinates) with flexion positive; all angles are in
degrees. ``ANGLES`` is the single table that documents every angle: the joints it uses, the plane,
the sign and what 0 means. The computation is vectorised over frames.

Segment frames (columns = the segment's left, up, forward axes in canonical coordinates; right
handed, so left x up = forward, like the canonical axes themselves):

* pelvis: left = R_HIP -> L_HIP; up = world +Y made orthogonal to it. Keypoints cannot see the
  pelvis' tilt about the hip axis (the hips and the pelvis joint are collinear), so the pelvis is
  taken upright: hip flexion is the thigh's inclination in the pelvis' sagittal plane and lumbar
  flexion is the trunk's inclination from the vertical (it includes pelvic tilt). Their sum is the
  trunk-thigh angle.
* thorax: up = PELVIS -> THORAX; left = R_SHOULDER -> L_SHOULDER made orthogonal to it (the
  trunk axis is primary, so shrugging or raising one shoulder does not tilt the thorax frame).
* femur: up = KNEE -> HIP; left = shank x up (the knee's flexion axis). Defined only when the
  knee is bent (see ``MIN_HINGE_DEG``), which is why hip rotation is NaN with a straight knee.
* humerus: its long axis ELBOW - SHOULDER, and the forearm for the axial rotation (NaN with a
  nearly straight elbow, for the same reason).

Decompositions: the trunk (lumbar) uses the Cardan sequence flexion (about left) -> bending
(about the floating forward axis) -> axial rotation (about up), i.e. R = Rx(a) Rz(b) Ry(c), the
order of OpenSim's lumbar joint and of the ISB hip joint coordinate system; the hip uses the same
order (flexion -> adduction -> rotation). Shoulder flexion and abduction are planar
(goniometer) angles: the humerus' angle in the thorax' sagittal and frontal plane, i.e. the first
angle of the Cardan order that starts with each. A single Cardan order (or the attitude vector)
cannot give both: flexion-first locks when the arm is abducted past 90 deg, abduction-first when
it is flexed past 90 deg, and the attitude vector's split depends on a tiny forward deviation when
the arm is near overhead (UI-PRMD's abduction tops out at 150-170 deg). The price is that a planar
angle is NaN while the arm is more than 60 deg out of its plane (nearly end-on, ill-conditioned)
and that an arm overhead reads ~180 in both. Axial rotation is the twist left after the shortest
swing from the hanging arm to the humerus (the swing-twist split), measured with the forearm.

Every angle is invariant to the subject's heading and position; because the pelvis frame uses the
vertical, they assume an upright (standing / sitting) body, not a lying one. The live path
(``compute_angles_frame``) costs about 0.3 ms of CPU a frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physio_core.results import AngleSeries
from physio_core.skeleton import N_JOINTS, J, PoseSequence

# below this knee / elbow flexion the hinge axis (and so hip / shoulder rotation) is undefined
MIN_HINGE_DEG = 30.0
# a planar (goniometer) shoulder angle needs the humerus' projection on its plane to be at least
# this long (unit humerus): cos(60 deg), i.e. NaN when the arm points more than 60 deg out of the
# plane, where a few degrees of out-of-plane noise would swing the reading (seen nearly end-on)
MAX_OUT_OF_PLANE_DEG = 60.0
MIN_PROJECTION = float(np.cos(np.radians(MAX_OUT_OF_PLANE_DEG)))
# a planar shoulder angle lies in (PLANAR_FROM_DEG, PLANAR_FROM_DEG + 360]: an arm overhead reads
# ~180 on both sides instead of flipping between +-180, and an arm held far behind wraps to ~270
PLANAR_FROM_DEG = -90.0
# An angle measured in fewer of a session's frames with a person than this has gaps: a planar
# shoulder angle while the arm is far out of its plane (flexion, in a sideways raise, leaps from
# ~20 to ~160 across the gap). Its range then says nothing about the movement, yet it is larger
# than that of the angle that follows it: charts and comparisons rank such an angle last.
FULLY_MEASURED = 0.95


@dataclass(frozen=True)
class AngleDef:
    """One anatomical angle: what it measures and how it is signed."""

    name: str
    description: str
    joints: tuple[str, ...]  # canonical joint names (physio_core.skeleton.J) it uses
    plane: str  # sagittal | frontal | transverse (axial) | 3d
    positive: str  # the direction in which the angle grows
    neutral: str  # what 0 means / the value when standing relaxed
    method: str  # how it is computed
    singular: str = ""  # when it is NaN (beyond missing joints)


def _side(name: str, side: str) -> str:
    return f"{name}_{side}"


_TRUNK = ("pelvis", "r_hip", "l_hip", "thorax", "r_shoulder", "l_shoulder")


def _leg_defs(s: str) -> tuple[AngleDef, ...]:
    side = "right" if s == "r" else "left"
    hip, knee, ankle, toe = f"{s}_hip", f"{s}_knee", f"{s}_ankle", f"{s}_toe"
    return (
        AngleDef(
            _side("hip_flexion", s),
            f"{side} hip flexion: thigh inclination in the pelvis' sagittal plane",
            ("r_hip", "l_hip", knee),
            "sagittal",
            "knee forward (flexion); negative = extension",
            "0 = thigh vertical below the hip (standing)",
            "Cardan flexion angle of HIP->KNEE in the pelvis frame: atan2(forward, -up)",
        ),
        AngleDef(
            _side("hip_adduction", s),
            f"{side} hip adduction: thigh angle out of the pelvis' sagittal plane",
            ("r_hip", "l_hip", knee),
            "frontal",
            "knee toward the midline (adduction); negative = abduction",
            "0 = thigh in the sagittal plane through the hip",
            "Cardan adduction angle (after flexion) of HIP->KNEE in the pelvis frame",
        ),
        AngleDef(
            _side("hip_rotation", s),
            f"{side} hip axial rotation of the femur",
            ("r_hip", "l_hip", hip, knee, ankle),
            "transverse",
            "internal rotation (front of the thigh turns toward the midline)",
            "0 = knee flexion plane parallel to the pelvis' sagittal plane",
            "Cardan axial angle of the femur frame (long axis + knee flexion axis) in the pelvis",
            f"NaN when knee flexion < {MIN_HINGE_DEG:g} deg (no flexion axis to measure it by)",
        ),
        AngleDef(
            _side("knee_angle", s),
            f"{side} knee flexion",
            (hip, knee, ankle),
            "sagittal",
            "flexion (always >= 0: keypoints cannot tell hyperextension)",
            "0 = straight leg (180 deg interior angle)",
            "180 - interior angle HIP-KNEE-ANKLE",
        ),
        AngleDef(
            _side("ankle_angle", s),
            f"{side} ankle dorsiflexion",
            (knee, ankle, toe),
            "sagittal",
            "dorsiflexion (toes toward the shin); negative = plantarflexion",
            "0 = foot line ANKLE->TOE at right angles to the shank; the toe tip sits lower than "
            "the ankle, so standing reads about -15..-25 deg depending on the source",
            "90 - interior angle KNEE-ANKLE-TOE",
            "NaN when the source has no toes",
        ),
    )


def _arm_defs(s: str) -> tuple[AngleDef, ...]:
    side = "right" if s == "r" else "left"
    sh, el, wr = f"{s}_shoulder", f"{s}_elbow", f"{s}_wrist"
    return (
        AngleDef(
            _side("shoulder_flexion", s),
            f"{side} shoulder flexion: humerus angle in the thorax' sagittal plane",
            (*_TRUNK, el),
            "sagittal",
            "arm forward / up in front (flexion); negative = extension (arm behind)",
            "0 = arm hanging along the trunk; an arm straight overhead reads ~180",
            "planar (goniometer) angle: first angle of the flexion-first Cardan order, "
            "atan2(forward, -up) of SHOULDER->ELBOW in the thorax frame, in (-90, 270]",
            f"NaN when the arm points more than {MAX_OUT_OF_PLANE_DEG:g} deg out of the sagittal "
            "plane (e.g. abducted past 60 deg), where the planar angle is ill-conditioned",
        ),
        AngleDef(
            _side("shoulder_abduction", s),
            f"{side} shoulder abduction: humerus angle in the thorax' frontal plane",
            (*_TRUNK, el),
            "frontal",
            "arm out to the side / up (abduction); negative = arm across the body",
            "0 = arm hanging along the trunk; an arm straight overhead reads ~180",
            "planar (goniometer) angle: first angle of the abduction-first Cardan order, "
            "atan2(lateral, -up) of SHOULDER->ELBOW in the thorax frame, in (-90, 270]",
            f"NaN when the arm points more than {MAX_OUT_OF_PLANE_DEG:g} deg out of the frontal "
            "plane (e.g. flexed forward past 60 deg), where the planar angle is ill-conditioned",
        ),
        AngleDef(
            _side("shoulder_rotation", s),
            f"{side} shoulder axial rotation of the humerus",
            (*_TRUNK, sh, el, wr),
            "transverse",
            "internal rotation (forearm turns toward the belly)",
            "0 = forearm pointing forward after the shortest swing from the hanging arm",
            "twist about the humerus axis of the forearm, relative to the forward axis carried "
            "by the shortest swing from the hanging arm",
            f"NaN when elbow flexion < {MIN_HINGE_DEG:g} deg or the arm is straight overhead",
        ),
        AngleDef(
            _side("elbow_flexion", s),
            f"{side} elbow flexion",
            (sh, el, wr),
            "sagittal",
            "flexion (always >= 0)",
            "0 = straight arm",
            "180 - interior angle SHOULDER-ELBOW-WRIST",
        ),
    )


ANGLES: tuple[AngleDef, ...] = (
    AngleDef(
        "neck_flexion",
        "head/neck flexion relative to the thorax",
        ("pelvis", "thorax", "r_shoulder", "l_shoulder", "head"),
        "sagittal",
        "head forward (flexion); negative = extension",
        "0 = THORAX->HEAD along the trunk axis (a few degrees off for most sources)",
        "Cardan flexion angle of THORAX->HEAD in the thorax frame: atan2(forward, up)",
    ),
    AngleDef(
        "neck_bending",
        "head/neck lateral bending relative to the thorax",
        ("pelvis", "thorax", "r_shoulder", "l_shoulder", "head"),
        "frontal",
        "toward the subject's right (right-hand rule about the forward axis, as OpenSim)",
        "0 = head over the thorax",
        "Cardan bending angle (after flexion) of THORAX->HEAD in the thorax frame",
    ),
    AngleDef(
        "lumbar_flexion",
        "trunk flexion: thorax relative to the upright pelvis frame",
        _TRUNK,
        "sagittal",
        "trunk forward (flexion); negative = extension",
        "0 = upright trunk",
        "Cardan R = Rx(flexion) Rz(bending) Ry(rotation) of the thorax frame in the pelvis frame",
    ),
    AngleDef(
        "lumbar_bending",
        "trunk lateral bending: thorax relative to the pelvis frame",
        _TRUNK,
        "frontal",
        "toward the subject's right (right-hand rule about the forward axis, as OpenSim)",
        "0 = upright trunk",
        "second Cardan angle of the lumbar decomposition",
    ),
    AngleDef(
        "lumbar_rotation",
        "trunk axial rotation: shoulder line relative to the hip line",
        _TRUNK,
        "transverse",
        "thorax turns to the subject's left (right-hand rule about up, as OpenSim)",
        "0 = shoulders parallel to the hips",
        "third Cardan angle of the lumbar decomposition",
    ),
    *_leg_defs("r"),
    *_leg_defs("l"),
    *_arm_defs("r"),
    *_arm_defs("l"),
)

ANGLE_NAMES: tuple[str, ...] = tuple(a.name for a in ANGLES)
ANGLE_INDEX: dict[str, int] = {n: i for i, n in enumerate(ANGLE_NAMES)}
N_ANGLES = len(ANGLES)
assert N_ANGLES == 23


def robust_range(values: np.ndarray, lo_pct: float, hi_pct: float) -> float:
    """Range of motion of one angle's samples (degrees, finite): the ``lo_pct``..``hi_pct``
    percentile span, on the circle. An angle is a direction: a planar shoulder angle of an arm
    held behind reads -89 one frame and 270 the next (the wrap of ``_planar``), which is a few
    degrees of motion, not 359. The span is taken with the circle cut at -90, 0, 90 and 180 deg
    and the smallest kept: exact for any motion spanning less than 270 deg, which leaves a gap
    holding one of the cuts. NaN with fewer than 2 samples."""
    v = np.asarray(values, dtype=np.float64)
    if v.size < 2:
        return float("nan")
    spans = []
    for cut in (-90.0, 0.0, 90.0, 180.0):
        lo, hi = np.percentile((v - cut) % 360.0, [lo_pct, hi_pct])
        spans.append(hi - lo)
    return float(min(spans))


# a step from one measured frame to the next is a wrap of a planar angle when it goes from within
# this many degrees of one end of its range (PLANAR_FROM_DEG ...) to within as many of the other
WRAP_BAND_DEG = 45.0
_WRAP_LOW = PLANAR_FROM_DEG + WRAP_BAND_DEG
_WRAP_HIGH = PLANAR_FROM_DEG + 360.0 - WRAP_BAND_DEG


def _wrap_turns(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """-1 / +1 where the step before -> after is a wrap upward / downward, 0 elsewhere (and where
    either is NaN)."""
    return (np.where((before < _WRAP_LOW) & (after > _WRAP_HIGH), -1.0, 0.0)
            + np.where((before > _WRAP_HIGH) & (after < _WRAP_LOW), 1.0, 0.0))


def unwrapped(values: np.ndarray) -> np.ndarray:
    """An angle series as drawn and as reps are counted on it: without the 360° leaps of a wrap
    (an arm held behind the back reads -89° and then 270°; drawn, -91°), and put where its median
    lies in (-90, 270].

    Only a step from near one end of the planar angles' range (-90, 270] to near the other is a
    wrap, between consecutive measured frames, across a gap too (the arm behind the back may
    leave its plane on the way). A tracking glitch of 200° (-6° to 206°, as the detector moves to
    another person) is drawn as measured, and so is a real leap across a gap where the angle is
    undefined (-15° to 170°, shoulder flexion in a sideways raise). Other angles never reach both
    bands and pass unchanged. ``StreamingUnwrap`` is the same, a frame at a time."""
    v = np.array(values, dtype=np.float64)
    ok = np.isfinite(v)
    if not ok.any():
        return v
    run = v[ok]
    run = run + 360.0 * np.r_[0.0, np.cumsum(_wrap_turns(run[:-1], run[1:]))]
    v[ok] = run - 360.0 * np.floor((np.median(run) - PLANAR_FROM_DEG) / 360.0)
    return v


class StreamingUnwrap:
    """``unwrapped`` one frame at a time, for each of several angles (the live rep counter).

    A stream cannot know its median, so values stay where they start: as measured until the
    first wrap. Counting is the same either way; only a level differs, by 360°, when a session
    starts with the arm held behind the back."""

    def __init__(self) -> None:
        self._last: np.ndarray | None = None  # last measured value of each angle, as measured
        self._turns: np.ndarray | None = None

    def __call__(self, values: np.ndarray) -> np.ndarray:
        x = np.asarray(values, dtype=np.float64)
        if self._last is None:
            self._last, self._turns = np.full(x.shape, np.nan), np.zeros(x.shape)
        self._turns += _wrap_turns(self._last, x)
        self._last = np.where(np.isfinite(x), x, self._last)
        return x + 360.0 * self._turns


# the body part an angle belongs to, by its name's start (its family: "knee_angle" of "knee_angle_r")
REGIONS: dict[str, tuple[str, ...]] = {
    "trunk": ("neck_", "lumbar_"),
    "arm": ("shoulder_", "elbow_"),
    "leg": ("hip_", "knee_", "ankle_"),
}


def angle_region(name: str) -> str:
    """'trunk', 'arm' or 'leg' for an angle (or angle family) name; '' for another name."""
    return next((region for region, starts in REGIONS.items() if name.startswith(starts)), "")


def trained_regions(angle_names) -> frozenset[str]:
    """The body parts an exercise counted on these angles (or families) trains, with the trunk,
    which every exercise keeps still or moves on purpose; empty without a limb angle."""
    limbs = {angle_region(n) for n in angle_names} - {"", "trunk"}
    return frozenset(limbs | {"trunk"}) if limbs else frozenset()


def outside_regions(name: str, regions: frozenset[str]) -> bool:
    """Whether angle ``name`` is of none of ``regions`` (``trained_regions``); False when those
    are unknown (empty)."""
    return bool(regions) and angle_region(name) not in regions


def angle_def(name: str) -> AngleDef:
    """The table entry for one angle name (KeyError with the known names otherwise)."""
    try:
        return ANGLES[ANGLE_INDEX[name]]
    except KeyError:
        raise KeyError(f"unknown angle {name!r}; known: {', '.join(ANGLE_NAMES)}") from None


# ---------------------------------------------------------------- vector helpers (..., 3)


_I1, _I2 = [1, 2, 0], [2, 0, 1]


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # np.cross costs ~30 us per call on small arrays; this is the live path's hot spot
    return a[..., _I1] * b[..., _I2] - a[..., _I2] * b[..., _I1]


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=-1)


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.sqrt((v * v).sum(axis=-1, keepdims=True))
    return v / np.where(n > 1e-9, n, np.nan)


def _frame(lateral: np.ndarray, up: np.ndarray, up_first: bool = False) -> np.ndarray:
    """(T,3,3) orthonormal frames whose columns are left, up, forward.

    The primary axis is kept exactly; the other is made orthogonal to it.
    """
    if up_first:
        y = _unit(up)
        x = _unit(lateral - _dot(lateral, y)[:, None] * y)
    else:
        x = _unit(lateral)
        y = _unit(up - _dot(up, x)[:, None] * x)
    return np.stack([x, y, _cross(x, y)], axis=-1)


def _local(frame: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Components of world vectors (T,3) in the frames (T,3,3): (left, up, forward)."""
    return (v[:, None, :] @ frame)[:, 0]


def _relative(parent: np.ndarray, child: np.ndarray) -> np.ndarray:
    """Child frame axes expressed in the parent frame: parent^T child."""
    return parent.transpose(0, 2, 1) @ child


def _angle_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Radians between (T,3) vectors."""
    return np.arccos(np.clip(_dot(_unit(a), _unit(b)), -1.0, 1.0))


def _asin(x: np.ndarray) -> np.ndarray:
    return np.arcsin(np.clip(x, -1.0, 1.0))


def _hip(pelvis: np.ndarray, hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray,
         side: np.ndarray):
    """Hip flexion, adduction, rotation and knee flexion (radians); ``side`` is +1 for a right
    leg, -1 for a left one (rows may mix both sides)."""
    thigh = knee - hip
    shank = ankle - knee
    knee_flex = _angle_between(thigh, shank)
    d = _unit(_local(pelvis, thigh))
    flex = np.arctan2(d[:, 2], -d[:, 1])
    add = _asin(side * d[:, 0])
    up = -_unit(thigh)
    femur = _frame(_cross(shank, up), up)
    rel = _relative(pelvis, femur)
    rot = np.arctan2(rel[:, 0, 2], rel[:, 0, 0])
    rot = np.where(knee_flex >= np.radians(MIN_HINGE_DEG), side * rot, np.nan)
    return flex, add, rot, knee_flex


def _ankle(knee: np.ndarray, ankle: np.ndarray, toe: np.ndarray) -> np.ndarray:
    return np.pi / 2 - _angle_between(knee - ankle, toe - ankle)


def _planar(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Goniometer angle atan2(num, den) in (-90, 270] deg, NaN when the projection is too short.

    The wrap keeps an arm overhead near 180 on both sides instead of flipping between +-180.
    """
    ang = np.arctan2(num, den)
    ang = np.where(ang <= np.radians(PLANAR_FROM_DEG), ang + 2 * np.pi, ang)
    return np.where(np.hypot(num, den) >= MIN_PROJECTION, ang, np.nan)


def _arm(thorax: np.ndarray, sh: np.ndarray, el: np.ndarray, wr: np.ndarray, side: np.ndarray):
    """Shoulder flexion, abduction, rotation and elbow flexion (radians); ``side`` as in
    ``_hip``."""
    upper = el - sh
    fore = wr - el
    elbow = _angle_between(upper, fore)
    d = _unit(_local(thorax, upper))
    lateral = -side * d[:, 0]
    flex = _planar(d[:, 2], -d[:, 1])
    abd = _planar(lateral, -d[:, 1])
    # forward axis carried by the shortest swing from hanging (0,-1,0) to d (Rodrigues with
    # w = down x d, c = down . d); undefined only when d points straight up (c = -1)
    c = -d[:, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        s = d[:, 0] / (1.0 + c)  # ref = c*ez + w x ez + w (w.ez)/(1+c), w = (-dz, 0, dx)
        ref = np.stack([-d[:, 2] * s, d[:, 2], c + d[:, 0] * s], axis=-1)
    f = _local(thorax, _unit(fore))
    f_perp = f - _dot(f, d)[:, None] * d
    twist = np.arctan2(_dot(_cross(ref, f_perp), d), _dot(ref, f_perp))
    ok = (elbow >= np.radians(MIN_HINGE_DEG)) & (c > -0.999)
    rot = np.where(ok, -side * twist, np.nan)
    return flex, abd, rot, elbow


def angles_from_joints(joints: np.ndarray) -> np.ndarray:
    """(T, N_JOINTS, 3) canonical joints -> (T, 23) angles in degrees, columns as ANGLE_NAMES.

    NaN joints give NaN angles (only the angles that use them).
    """
    p = np.asarray(joints, dtype=np.float64)
    if p.ndim != 3 or p.shape[1:] != (N_JOINTS, 3):
        raise ValueError(f"joints must be (T, {N_JOINTS}, 3), got {p.shape}")
    t = p.shape[0]
    out = np.empty((t, N_ANGLES))
    with np.errstate(invalid="ignore"):
        pelvis = _frame(p[:, J.L_HIP] - p[:, J.R_HIP], np.broadcast_to([0.0, 1.0, 0.0], (t, 3)))
        thorax = _frame(
            p[:, J.L_SHOULDER] - p[:, J.R_SHOULDER], p[:, J.THORAX] - p[:, J.PELVIS], up_first=True
        )

        head = _unit(_local(thorax, p[:, J.HEAD] - p[:, J.THORAX]))
        out[:, 0] = np.arctan2(head[:, 2], head[:, 1])
        out[:, 1] = _asin(-head[:, 0])

        rel = _relative(pelvis, thorax)  # thorax axes in the pelvis frame
        out[:, 2] = np.arctan2(rel[:, 2, 1], rel[:, 1, 1])
        out[:, 3] = _asin(-rel[:, 0, 1])
        out[:, 4] = np.arctan2(rel[:, 0, 2], rel[:, 0, 0])

        # both sides in one pass (rows: the T right limbs, then the T left ones): half the
        # numpy calls, which is what a single live frame pays for
        side = np.repeat([1.0, -1.0], t)

        def sides(right: int, left: int) -> np.ndarray:
            return np.concatenate([p[:, right], p[:, left]])

        pelvis2, thorax2 = np.concatenate([pelvis, pelvis]), np.concatenate([thorax, thorax])
        knee, ankle = sides(J.R_KNEE, J.L_KNEE), sides(J.R_ANKLE, J.L_ANKLE)
        legs = (*_hip(pelvis2, sides(J.R_HIP, J.L_HIP), knee, ankle, side),
                _ankle(knee, ankle, sides(J.R_TOE, J.L_TOE)))
        arms = _arm(thorax2, sides(J.R_SHOULDER, J.L_SHOULDER), sides(J.R_ELBOW, J.L_ELBOW),
                    sides(J.R_WRIST, J.L_WRIST), side)
        legs, arms = np.stack(legs, axis=-1), np.stack(arms, axis=-1)  # (2T, 5), (2T, 4)
        out[:, 5:10], out[:, 10:15] = legs[:t], legs[t:]
        out[:, 15:19], out[:, 19:23] = arms[:t], arms[t:]
    return np.degrees(out)


def compute_angles(seq: PoseSequence) -> AngleSeries:
    """All 23 angles of a sequence; joints with confidence 0 (and empty frames) give NaN."""
    joints = np.where(seq.confidence[..., None] > 0, seq.joints, np.nan)
    return AngleSeries(ANGLE_NAMES, angles_from_joints(joints), seq.times.copy())


def compute_angles_frame(joints: np.ndarray, confidence: np.ndarray | None = None) -> np.ndarray:
    """Live path: one (N_JOINTS, 3) pose -> (23,) angles in degrees (about 0.3 ms)."""
    j = np.asarray(joints, dtype=np.float64).reshape(1, N_JOINTS, 3)
    if confidence is not None:
        j = np.where(np.asarray(confidence).reshape(1, N_JOINTS, 1) > 0, j, np.nan)
    return angles_from_joints(j)[0]
