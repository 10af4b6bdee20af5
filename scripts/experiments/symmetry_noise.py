"""How far left and right differ in reps done correctly: which angles a left/right chart can trust.

    python scripts/experiments/symmetry_noise.py [--ui-prmd DIR]

For every correct rep of UI-PRMD's movements done with both sides at once (deep squat,
sit-to-stand), each angle's range of motion (1st to 99th percentile, as a stored session's) on
the left and on the right, and the symmetry index 100 * (L - R) / mean(L, R) that Progress's
asymmetry chart draws. A correct rep moves both sides alike, so what the index shows here is
mostly how well the angle is measured, not the athlete. It prints, per movement and angle, the
mean range and the median and 90th percentile of |index|. About 30 s.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from physio_core.datasets.uiprmd import list_reps  # noqa: E402
from physio_core.kinematics import ANGLE_NAMES, angle_def, compute_angles, robust_range  # noqa: E402
from physio_core.reps import ONE_SIDED  # noqa: E402

SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "ui-prmd"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ui-prmd", type=Path, default=SHARED)
    args = ap.parse_args(argv)

    families = sorted(n[:-2] for n in ANGLE_NAMES if n.endswith("_l"))
    index: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    for rep in list_reps(args.ui_prmd):
        if not rep.correct or rep.movement_name in ONE_SIDED:
            continue
        angles = compute_angles(rep.load())
        for fam in families:
            sides = [angles.values[:, angles.names.index(fam + s)] for s in ("_l", "_r")]
            left, right = (robust_range(v[np.isfinite(v)], 1, 99) if np.isfinite(v).sum() >= 10 else np.nan
                           for v in sides)
            if np.isfinite(left) and np.isfinite(right) and left + right > 0:
                index[rep.movement_name][fam].append((100 * (left - right) / ((left + right) / 2),
                                                      (left + right) / 2))

    print(f"{'movement':14s} {'angle':20s} {'plane':10s} {'reps':>4s} {'range °':>8s} "
          f"{'|SI| median %':>14s} {'p90 %':>6s}")
    for movement, by_family in sorted(index.items()):
        for fam, vals in sorted(by_family.items(), key=lambda kv: -np.median([v[1] for v in kv[1]])):
            si = np.abs([v[0] for v in vals])
            print(f"{movement:14s} {fam:20s} {angle_def(fam + '_l').plane:10s} {len(vals):4d} "
                  f"{np.median([v[1] for v in vals]):8.1f} {np.median(si):14.1f} {np.percentile(si, 90):6.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
