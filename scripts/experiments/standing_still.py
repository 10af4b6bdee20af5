"""Where tracking noise ends and a rep begins: the thresholds of `physio_core.reps` measured.

    python scripts/experiments/standing_still.py

"Still": the 80 standing-still sequences of `rep_tempo.py`'s "no exercise" set (10 per subject:
a real rest pose held 6-14 s with sway, through `ml.data.Augment`'s tracker noise), each counted
as each of the ten movements. "Real": `evaluate`'s 320 scoring sets (unaugmented Kinect), and
every UI-PRMD rep through the same noise.

1. Angle floors (`reps.NOISE_FLOOR_DEG`): per angle family, the largest "rep" the angle counter
   finds in the still sequences with no floor above its 15 deg minimum, against the smallest
   real rep (the principal angle's range over one rep file, 2 Hz low-pass as counted).
2. Motion (`reps.MIN_REP_MOTION`, `rep_motion`): the largest motion of any rep either counter
   (angle counter, shipped rep detector) finds in the still sequences, against the smallest
   motion of the reps both counters find in the real sets, per low-pass cut-off. The shipped
   detector was trained on these subjects: its reps on the real sets are held-in.
About 3 min.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import physio_core.reps as R  # noqa: E402
from physio_core.config import get_settings  # noqa: E402
from physio_core.filters import butter_lowpass  # noqa: E402
from physio_core.kinematics import ANGLE_NAMES, angles_from_joints  # noqa: E402
from physio_core.ml import suite  # noqa: E402
from physio_core.ml.data import (  # noqa: E402
    CLASS_NAMES, FPS, N_MOVEMENTS, Augment, load_uiprmd, other_samples)
from physio_core.ml.repcount import RepDetector, build_sets  # noqa: E402
from physio_core.results import AngleSeries  # noqa: E402
from physio_core.train import CACHE_DIR, DEFAULT_UIPRMD  # noqa: E402


def angles_of(j: np.ndarray) -> AngleSeries:
    return AngleSeries(ANGLE_NAMES, angles_from_joints(j), np.arange(len(j)) / FPS)


def main() -> None:
    reps = load_uiprmd(DEFAULT_UIPRMD, CACHE_DIR)
    detector = RepDetector.load(get_settings().model_dir / suite.FILES["rep"])
    aug = Augment()
    still = []
    for s in sorted({r.subject for r in reps}):  # as rep_tempo.py draws its "no exercise" set
        rng = np.random.default_rng(suite.SCORE_SEED + 1)
        others = other_samples([r for r in reps if r.subject == s], rng, 40, length=300)
        augmented = [aug(j, rng, time_warp=False) for j in others]
        still += augmented[::4]  # kind (a), standing still
    real = []
    for s in sorted({r.subject for r in reps}):
        rng = np.random.default_rng(suite.SCORE_SEED)
        real += [(j, m) for j, _, _, m in build_sets([r for r in reps if r.subject == s], rng,
                                                     per_group=2, augment=False)]

    print("1. angle floors: largest still 'rep' (no floor) | smallest real rep, degrees")
    floors, R.NOISE_FLOOR_DEG = R.NOISE_FLOOR_DEG, {}
    found: dict[str, list[float]] = {}
    for j in still:
        a = angles_of(j)
        for m in range(N_MOVEMENTS):
            for rep in R.count_reps(a, fps=FPS, exercise=CLASS_NAMES[m]):
                found.setdefault(rep.angle.rsplit("_", 1)[0], []).append(rep.rom_deg)
    R.NOISE_FLOOR_DEG = floors
    smallest: dict[str, float] = {}
    rng = np.random.default_rng(1)
    for r in reps:
        a = angles_of(aug(r.joints, rng))
        family = R.EXERCISES[CLASS_NAMES[r.movement]][0]
        rom = max((np.ptp(x[np.isfinite(x)]) for n in ANGLE_NAMES
                   if n.rsplit("_", 1)[0] in family
                   and np.isfinite(x := butter_lowpass(a[n], FPS, 2.0)).mean() >= 0.6), default=0.0)
        for f in family:
            smallest[f] = min(smallest.get(f, np.inf), rom)
    for f in sorted(set(found) | set(smallest)):
        v = sorted(found.get(f, []))
        print(f"  {f:20s} still: {len(v):3d} reps, largest {max(v, default=0):5.1f}"
              f" (95th pct {np.percentile(v, 95) if v else 0:5.1f}) | real smallest "
              f"{smallest.get(f, np.nan):5.1f} | floor now {R.min_rom_deg(f + '_r'):4.0f}")

    def all_reps(j: np.ndarray, m: int) -> list:
        a = angles_of(j)
        principal = R.choose_principal_angle(a, exercise=CLASS_NAMES[m])
        by_angle = R.count_reps(a, angle=principal, fps=FPS, exercise=CLASS_NAMES[m])
        return [*by_angle, *R.reps_at(detector.segment(j, FPS), a, principal, FPS)]

    print("2. motion (body sizes): largest of still reps | smallest of real reps")
    hz0 = R._MOTION_HZ
    cases = [(j, all_reps(j, m)) for j in still for m in range(N_MOVEMENTS)]
    real_cases = [(j, all_reps(j, m)) for j, m in real]
    for hz in (1.0, 2.0, 3.0, 4.0, 15.0):
        R._MOTION_HZ = hz
        s = np.concatenate([R.rep_motion(j, r, FPS) for j, r in cases if r])
        t = np.sort(np.concatenate([R.rep_motion(j, r, FPS) for j, r in real_cases if r]))
        print(f"  low-pass {hz:4.0f} Hz: still {len(s)} reps, largest {np.nanmax(s):.3f} | real "
              f"{len(t)} reps, smallest {t[:4].round(3).tolist()}, below 0.10: {(t < 0.1).sum()}")
    R._MOTION_HZ = hz0
    print(f"  shipped: {R._MOTION_HZ:g} Hz, MIN_REP_MOTION {R.MIN_REP_MOTION}")


if __name__ == "__main__":
    main()
