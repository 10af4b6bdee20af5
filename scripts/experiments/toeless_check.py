"""What the shipped models make of a skeleton without toes, as the MMPose backend gives it.

    python scripts/experiments/toeless_check.py [--ui-prmd DIR] [--every N]

MMPose's Human3.6M skeleton has no toes; the models learnt UI-PRMD's Kinect skeletons, which
have them. For every Nth rep of the dataset (default 7: 229 reps, all movements, correct and
incorrect), the same rep is given to the models three ways: with Kinect's toes, with the toes
NaN (as MMPose gives them) and put where the training skeletons have them
(``features.impute_missing_toes``, what ``ml.runtime`` does now), and with the toes NaN as
the models read them before that (NaN became 0 in the features). It prints how often the
exercise classifier and the mistake GCN's correct/incorrect verdict agree with the with-toes
answer, the classifier's accuracy, and how far the stability score moves. The weights were
trained on every subject, so the accuracy is in-sample: the point is the difference the toes
make. First it prints where the toe lies relative to the ankle over every 4th rep, the
measurement behind ``features.TOE_FROM_ANKLE``. About 1 min.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from physio_core.datasets.uiprmd import list_reps  # noqa: E402
from physio_core.features import body_scale, fill_gaps, impute_missing_toes  # noqa: E402
from physio_core.kinematics import _frame, _local  # noqa: E402
from physio_core.ml.gcn import read_label  # noqa: E402
from physio_core.ml.runtime import ModelSuite  # noqa: E402
from physio_core.skeleton import J  # noqa: E402

WAYS = ("with toes", "toes put back", "toes as 0 (before)")


def toe_offsets(reps) -> None:
    """The ankle -> toe vector in (left, up, forward) of the hip line and +Y, in body sizes:
    median per side over the frames of ``reps``, and each movement's own median."""
    per: dict[tuple[int, str], list[np.ndarray]] = {}
    for r in reps:
        j = r.load().joints
        up = np.tile([0.0, 1.0, 0.0], (len(j), 1))
        frame = _frame(j[:, J.L_HIP] - j[:, J.R_HIP], up, up_first=True)
        for side, ankle, toe in (("left", J.L_ANKLE, J.L_TOE), ("right", J.R_ANKLE, J.R_TOE)):
            v = _local(frame, j[:, toe] - j[:, ankle]) / body_scale(j)[:, None]
            per.setdefault((r.movement, side), []).append(v)
    for side in ("left", "right"):
        v = np.concatenate([x for (m, s), xs in per.items() if s == side for x in xs])
        moves = [np.median(np.concatenate(per[(m, side)]), axis=0) for m in sorted({m for m, _ in per})]
        far = max(float(np.abs(m - np.median(v, axis=0)).max()) for m in moves)
        print(f"toe from ankle, {side}: (left, up, forward) {np.round(np.median(v, axis=0), 4)} "
              f"body sizes, {len(v)} frames; each movement within {far:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ui-prmd", type=Path,
                    default=Path(__file__).resolve().parents[3] / "shared" / "datasets" / "ui-prmd")
    ap.add_argument("--every", type=int, default=7)
    args = ap.parse_args()

    toe_offsets(list_reps(args.ui_prmd)[::4])
    suite = ModelSuite.load()
    clf, gcn, stability = suite._m["classifier"], suite._m["gcn"], suite._m["stability"]
    reps = list_reps(args.ui_prmd)[:: args.every]
    movement_ok = {w: 0 for w in WAYS}
    same_movement = {w: 0 for w in WAYS[1:]}
    same_verdict = {w: 0 for w in WAYS[1:]}
    moved, failed = [], 0
    for r in reps:
        toes = fill_gaps(r.load().joints)
        nan = toes.copy()
        nan[:, [J.L_TOE, J.R_TOE]] = np.nan
        ways = dict(zip(WAYS, (toes, impute_missing_toes(nan), nan)))
        label = {w: int(clf.predict_proba([j])[0].argmax()) for w, j in ways.items()}
        verdict = {w: bool(read_label(gcn.correct([j])[0])[1][0]) for w, j in ways.items()}
        for w in WAYS:
            movement_ok[w] += label[w] == r.movement - 1
        for w in WAYS[1:]:
            same_movement[w] += label[w] == label[WAYS[0]]
            same_verdict[w] += verdict[w] == verdict[WAYS[0]]
        with_toes = stability.score(toes, r.movement - 1).stability_score
        moved.append(abs(stability.score(ways[WAYS[1]], r.movement - 1).stability_score - with_toes))
        try:
            stability.score(nan, r.movement - 1)
        except ValueError:
            failed += 1
    n = len(reps)
    print(f"{n} reps (every {args.every}th of UI-PRMD)")
    print(f"{'':22}{'classifier right':>18}{'same movement':>15}{'same verdict (GCN)':>20}")
    for w in WAYS:
        same = f"{same_movement[w] / n:.3f}" if w in same_movement else "–"
        verd = f"{same_verdict[w] / n:.3f}" if w in same_verdict else "–"
        print(f"{w:22}{movement_ok[w] / n:>18.3f}{same:>15}{verd:>20}")
    print(f"stability score, toes put back vs with toes: |difference| median {np.median(moved):.3f}, "
          f"90th percentile {np.percentile(moved, 90):.3f}, max {max(moved):.3f}")
    print(f"stability score with the toes NaN (before): failed on {failed} of {n} reps")


if __name__ == "__main__":
    main()
