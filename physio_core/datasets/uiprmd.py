"""UI-PRMD (Vakanski et al., Data 2018) Kinect v2 skeletons -> canonical PoseSequence.

Each file holds ONE repetition at 30 fps. Positions are parent-relative offsets in the T-pose
frame and angles are parent-relative Euler angles; forward kinematics (recipe in the
dataset README, checked there on all 2,000 pairs) gives absolute positions in cm with +Y up,
the subject facing +Z and +X to the subject's left, which are already our canonical axes.
"""

from __future__ import annotations

import gzip
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from physio_core.skeleton import N_JOINTS, J, PoseSequence, center_on_pelvis

FPS = 30.0
KINECT_PARENTS = (-1, 0, 1, 2, 3, 4, 2, 6, 7, 8, 2, 10, 11, 12, 0, 14, 15, 16, 0, 18, 19, 20)

MOVEMENTS = {
    1: "deep_squat",
    2: "hurdle_step",
    3: "inline_lunge",
    4: "side_lunge",
    5: "sit_to_stand",
    6: "standing_active_straight_leg_raise",
    7: "standing_shoulder_abduction",
    8: "standing_shoulder_extension",
    9: "standing_shoulder_internal_external_rotation",
    10: "standing_shoulder_scaption",
}

# canonical joint <- Kinect joint index (pelvis is the hip midpoint, as in the other sources)
_KINECT_FOR = {
    J.R_HIP: 18, J.R_KNEE: 19, J.R_ANKLE: 20, J.L_HIP: 14, J.L_KNEE: 15, J.L_ANKLE: 16,
    J.SPINE: 1, J.THORAX: 2, J.NECK: 4, J.HEAD: 5,
    J.L_SHOULDER: 7, J.L_ELBOW: 8, J.L_WRIST: 9, J.R_SHOULDER: 11, J.R_ELBOW: 12, J.R_WRIST: 13,
    J.L_TOE: 17, J.R_TOE: 21,
}

_NAME_RE = re.compile(r"m(\d\d)_s(\d\d)_e(\d\d)_positions(_inc)?\.txt(\.gz)?$")


class UIPRMDFormatError(ValueError):
    """A rep file that cannot be read as one; the message names the file and says what is wrong."""


@dataclass(frozen=True)
class UIPRMDRep:
    """One file pair: one repetition of one movement by one subject."""

    movement: int  # 1..10
    subject: int
    episode: int
    correct: bool
    positions_path: Path
    angles_path: Path

    @property
    def movement_name(self) -> str:
        return MOVEMENTS[self.movement]

    def load(self) -> PoseSequence:
        positions, angles = _read_matrix(self.positions_path), _read_matrix(self.angles_path)
        if len(positions) != len(angles):
            raise UIPRMDFormatError(
                f"{self.positions_path} has {len(positions)} frames but {self.angles_path} has {len(angles)}"
            )
        return kinect_to_canonical(forward_kinematics(positions, angles))


def _read_matrix(path: Path) -> np.ndarray:
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rt") as fh:
            data = np.loadtxt(fh, delimiter=",", ndmin=2)
    except (ValueError, EOFError, gzip.BadGzipFile, zlib.error) as exc:  # text among numbers, a cut-off .gz
        # numpy's messages can span lines, and its advice on usecols is for programmers
        reason = " ".join(str(exc).split()).split("; use `usecols`")[0] or type(exc).__name__
        raise UIPRMDFormatError(f"{path}: not a UI-PRMD rep file ({reason})") from exc
    if data.shape[1] != 66:
        raise UIPRMDFormatError(f"{path}: expected 66 columns (22 joints x 3), got {data.shape[1]}")
    return data.reshape(-1, 22, 3)


def forward_kinematics(positions: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """(T,22,3) offsets + (T,22,3) Euler degrees -> (T,22,3) absolute positions in cm."""
    t = positions.shape[0]
    # E_j = Rz(tz) Rx(tx) Ry(ty): extrinsic y, then x, then z
    local = Rotation.from_euler(
        "yxz", angles[:, :, [1, 0, 2]].reshape(-1, 3), degrees=True
    ).as_matrix().reshape(t, 22, 3, 3)
    glob = np.empty_like(local)
    world = np.empty_like(positions)
    for j, p in enumerate(KINECT_PARENTS):
        if p < 0:
            glob[:, j] = local[:, j]
            world[:, j] = positions[:, j]
        else:
            glob[:, j] = glob[:, p] @ local[:, j]
            world[:, j] = world[:, p] + np.einsum("tab,tb->ta", glob[:, p], positions[:, j])
    return world


def kinect_to_canonical(world_cm: np.ndarray, fps: float = FPS) -> PoseSequence:
    """(T,22,3) Kinect absolute positions in cm -> canonical PoseSequence in metres."""
    t = world_cm.shape[0]
    w = world_cm / 100.0
    joints = np.empty((t, N_JOINTS, 3))
    for cj, kj in _KINECT_FOR.items():
        joints[:, cj] = w[:, kj]
    joints[:, J.PELVIS] = 0.5 * (w[:, 14] + w[:, 18])
    centred, root = center_on_pelvis(joints)
    return PoseSequence(centred, np.ones((t, N_JOINTS)), np.arange(t) / fps, fps, root)


def list_reps(root: str | Path) -> list[UIPRMDRep]:
    """All repetitions under a folder laid out like ../shared/datasets/ui-prmd, sorted."""
    root = Path(root)
    kin = root / "kinect" if (root / "kinect").is_dir() else root
    reps = []
    for correct, sub, suffix in ((True, "correct", ""), (False, "incorrect", "_inc")):
        for pos in sorted((kin / sub / "positions").glob("m*_s*_e*_positions*.txt*")):
            m = _NAME_RE.search(pos.name)
            if not m:
                continue
            ang = kin / sub / "angles" / pos.name.replace("_positions", "_angles")
            if not ang.exists():
                continue
            reps.append(
                UIPRMDRep(int(m[1]), int(m[2]), int(m[3]), correct, pos, ang)
            )
    if not reps:
        raise FileNotFoundError(
            f"no UI-PRMD files under {root} (expected kinect/correct/positions/m01_s01_e01_positions.txt[.gz] "
            "with kinect/correct/angles/m01_s01_e01_angles.txt[.gz], the same under incorrect/ with _inc)"
        )
    return sorted(reps, key=lambda r: (r.movement, r.subject, not r.correct, r.episode))
