"""Would the mistake GCN judge unseen subjects better if every rep had the same body proportions?

    python scripts/experiments/gcn_retarget.py [--out DIR] [--seeds 31] [SUBJECT ...]

s05's correct reps look like the other subjects' incorrect ones. Positions in body-size units
still carry each subject's proportions (a long shin moves the ankle farther for the same knee
angle), so this retargets every frame before the GCN sees it: each bone keeps its direction and
takes one canonical length, the median over all reps of UI-PRMD in body-size units (an average
over the eight subjects without labels; the held-out subject is one of the eight). Then it runs
`gcn_seeds.py`'s folds and report unchanged (the same seeds, judge and figures); compare with
`gcn_seeds.py --seeds 31` run on the same machine. Corrections come out in the canonical
proportions, so their judged figure is not comparable; the verdicts are.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import gcn_seeds  # noqa: E402

import physio_core.ml.gcn as gcn  # noqa: E402
from physio_core.features import normalised_positions, resample  # noqa: E402
from physio_core.ml.data import load_uiprmd  # noqa: E402
from physio_core.skeleton import PARENTS  # noqa: E402
from physio_core.train import CACHE_DIR, DEFAULT_UIPRMD  # noqa: E402

CHILDREN = [c for c, p in enumerate(PARENTS) if p >= 0]  # parents come first in the joint order


def bone_lengths(pos: np.ndarray) -> np.ndarray:
    """(T, N_JOINTS, 3) -> (T, bones)."""
    return np.stack([np.linalg.norm(pos[:, c] - pos[:, PARENTS[c]], axis=-1) for c in CHILDREN], -1)


def retarget(pos: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Each bone's direction kept, its length replaced; the pelvis stays at the origin."""
    out = np.zeros_like(pos)
    for c, length in zip(CHILDREN, lengths):
        v = pos[:, c] - pos[:, PARENTS[c]]
        out[:, c] = out[:, PARENTS[c]] + length * v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)
    return out


def main() -> None:
    reps = load_uiprmd(DEFAULT_UIPRMD, CACHE_DIR)
    canon = np.nanmedian(np.concatenate([bone_lengths(normalised_positions(r.joints)) for r in reps]), 0)
    print("canonical bone lengths (body-size units):", np.round(canon, 3))

    def rep_input(joints: np.ndarray) -> np.ndarray:
        return resample(retarget(normalised_positions(joints), canon), gcn.STEPS)

    gcn.rep_input = gcn_seeds.rep_input = rep_input  # the GCN's fit / predict and the targets
    if "--out" not in sys.argv:  # never into gcn_seeds.py's own folder of unretargeted folds
        sys.argv[1:1] = ["--out", str(CACHE_DIR / "gcn_retarget")]
    gcn_seeds.main()


if __name__ == "__main__":
    main()
