"""What the correction says in words (``physio_core.correction_cue``) on real incorrect reps.

    python scripts/experiments/correction_words.py [--ui-prmd DIR] [--reps N] [--movement NAME]

For each UI-PRMD movement and subject, the subject's first N incorrect reps (default 2) are
joined into one set with pauses (``datasets.continuous.concatenate_reps``, as the tests build
sets) and analysed as an upload with the movement named (``pipeline.finish_sequence``). It prints
each rep's verdict and the words of its correction, then per movement how many reps were judged
incorrect, how many of those got words, and the joints named first. The shipped weights were
trained on every subject, so the verdicts are in-sample: the point is what the words say. About
2 min for all ten movements.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from physio_core.datasets.continuous import concatenate_reps  # noqa: E402
from physio_core.datasets.uiprmd import list_reps  # noqa: E402
from physio_core.ml.data import CLASS_NAMES, OTHER  # noqa: E402
from physio_core.pipeline import finish_sequence  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "ui-prmd"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ui-prmd", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--reps", type=int, default=2, help="incorrect reps per subject and movement")
    ap.add_argument("--movement", choices=CLASS_NAMES[:OTHER], help="only this movement")
    args = ap.parse_args(argv)

    every = list_reps(args.ui_prmd)
    movements = [args.movement] if args.movement else list(CLASS_NAMES[:OTHER])
    totals = []
    for movement in movements:
        judged = worded = 0
        first: Counter[str] = Counter()
        for subject in sorted({r.subject for r in every}):
            chosen = sorted((r for r in every if (r.movement_name, r.subject, r.correct) == (movement, subject, False)),
                            key=lambda r: r.episode)[:args.reps]
            if not chosen:
                continue
            seq, _ = concatenate_reps([r.load() for r in chosen], rng=0)
            result = finish_sequence(seq, backend="uiprmd-kinect", exercise=movement, smooth=False)
            for row in result.rep_assessments:
                words = row.get("correction")
                print(f"{movement:45s} s{subject:02d} rep {row['rep']}  {row.get('mistake', '-'):9s}  {words or '-'}")
                if row.get("mistake") == "incorrect":
                    judged += 1
                    if words:
                        worded += 1
                        name, _, rest = words.partition(" cm ")
                        joint = name.rsplit(" ", 1)[0]
                        first[f"{joint} {rest.split(',')[0].split(' (')[0]}"] += 1
        totals.append((movement, judged, worded, first.most_common(3)))
    print()
    print(f"{'movement':45s} {'judged incorrect':>16s} {'with words':>10s}  most often named first")
    for movement, judged, worded, common in totals:
        said = "; ".join(f"{k} ({n})" for k, n in common)
        print(f"{movement:45s} {judged:16d} {worded:10d}  {said}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
