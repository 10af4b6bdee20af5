"""How well ``reps.ONE_SIDED`` tells the side a one-sided exercise worked, on real reps.

    python scripts/experiments/one_sided.py

Every UI-PRMD rep of the eight one-sided movements (8 subjects, correct and incorrect): the side
whose ONE_SIDED angle has the larger range (``codec.angle_ranges``, as a stored session's range)
against the side that subject uses for the movement (the side of most of their reps). Prints how
many agree and, per movement, the median of the smaller range over the larger (near 1: both sides
move alike, and the side is a closer call). About 1 min.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from physio_core.datasets.uiprmd import list_reps  # noqa: E402
from physio_core.kinematics import compute_angles  # noqa: E402
from physio_core.reps import ONE_SIDED  # noqa: E402
from physio_core.store.codec import angle_ranges  # noqa: E402


def main() -> None:
    sides: dict[tuple, Counter] = defaultdict(Counter)
    ratios: dict[str, list[float]] = defaultdict(list)
    for rep in list_reps(ROOT.parent / "shared" / "datasets" / "ui-prmd"):
        family = ONE_SIDED.get(rep.movement_name)
        if family is None:
            continue
        rom = angle_ranges(compute_angles(rep.load()))
        left, right = rom.get(f"{family}_l") or 0.0, rom.get(f"{family}_r") or 0.0
        sides[(rep.movement_name, rep.subject)]["left" if left > right else "right"] += 1
        ratios[rep.movement_name].append(min(left, right) / max(left, right))
    usual = sum(c.most_common(1)[0][1] for c in sides.values())
    print(f"reps whose larger range names the subject's usual side: {usual} of "
          f"{sum(sum(c.values()) for c in sides.values())}")
    print(f"{'movement':46s} {'angle':20s} smaller/larger range (median)")
    for movement, v in ratios.items():
        print(f"{movement:46s} {ONE_SIDED[movement]:20s} {np.median(v):.2f}")


if __name__ == "__main__":
    main()
