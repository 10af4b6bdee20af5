"""Does every rep the live screen counts get the models' verdict, numbered as the screen counts it?

    python scripts/experiments/live_verdicts.py [--limit N] [--only sets|pairs]

Streams real UI-PRMD poses through a `LiveSession` on "auto" (the exercise recognised as the
live page does, the shipped models assessing each rep on the session's second thread), frame by
frame, each frame once the previous one and every rep's assessment are done:
- sets: each subject's first ten reps of a movement, correct, then incorrect (160 sets,
  `live_count_falls.ten_rep_sets`);
- pairs: each subject's first five correct reps of a movement, then five of another (movement k
  then movement k + 5 of the ten, 80 streams): the counter has to move from one angle to another.
Prints per kind of stream:
- ahead: snapshots whose last-rep panel shows a higher number than the count beside it, and the
  streams with any;
- misnumbered: snapshots whose last-rep panel shows a rep under another number than the counter
  counts it now (or a rep it does not count now), and the streams with any;
- at the end, of the reps the counter counts then: those the models were asked about (a rep
  handed to the assessment thread sharing more than half of its span), and those the page's
  "Correct so far" holds a verdict of (`reps_judged`, against the reps counted).
The sets took 40 min and the pairs 30 min here, two runs side by side on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))

from live_count_falls import ROOT, ten_rep_sets  # noqa: E402
from physio_core.config import Settings  # noqa: E402
from physio_core.datasets.continuous import concatenate_reps  # noqa: E402
from physio_core.datasets.uiprmd import list_reps  # noqa: E402
from physio_core.live import LiveConfig, LiveSession  # noqa: E402
from physio_core.pipeline import FrameAnalyzer  # noqa: E402
from test_live_assess import ReplayEstimator  # noqa: E402


def pairs():
    """(name, PoseSequence) of five correct reps of one movement, then five of another."""
    every = list_reps(ROOT)
    movements = sorted({r.movement_name for r in every})
    for subject in sorted({r.subject for r in every}):
        for k, first in enumerate(movements):
            second = movements[(k + 5) % len(movements)]
            picked = []
            for movement in (first, second):
                key = (movement, subject, True)
                mine = sorted((r for r in every if (r.movement_name, r.subject, r.correct) == key),
                              key=lambda r: r.episode)
                picked += mine[:5]
            seq, _ = concatenate_reps([r.load() for r in picked], rng=subject)
            yield f"{first} then {second} s{subject}", seq


def share(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The time two spans share, as a fraction of the shorter (as ``live.span_shares``, which
    the code the "before" table runs on does not have)."""
    shorter = min(a[1] - a[0], b[1] - b[0])
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0])) / shorter if shorter > 0 else 0.0


def run(seq, data_dir: Path) -> dict:
    """``seq`` streamed on auto: ahead snapshots, reps counted, asked about and judged at the end."""
    cfg = LiveConfig(exercise="auto", nominal_fps=seq.fps, mirror=False, idle_timeout_s=60)
    session = LiveSession(cfg, settings=Settings(data_dir=data_dir),
                          analyzer_factory=lambda: FrameAnalyzer(ReplayEstimator(seq)))
    asked: list[tuple[float, float]] = []
    assess = session._assess_rep

    def asking(rep, *args):
        asked.append((rep.start_s, rep.end_s))
        return assess(rep, *args)

    session._assess_rep = asking
    image = np.zeros((480, 640, 3), np.uint8)
    ahead = misnumbered = 0
    reps, seen = [], None
    try:
        for k in range(len(seq)):
            before = session.snapshot().frames_processed
            session.submit(image, capture_time_s=float(seq.times[k]))
            while session.snapshot().frames_processed <= before:
                time.sleep(0.001)
            session.wait_assessed(120)
            s = session.snapshot()
            counter = session._counter  # the worker waits for the next frame: read it here
            # the angle and its reps whose end is known (before 2026-12-06: ``completed``)
            key = counter.tally[::2] if hasattr(counter, "tally") else (counter.angle, counter.completed)
            if key != seen:
                seen, reps = key, counter.reps
            if (v := s.last_rep) is not None:
                ahead += v.rep > s.rep_count
                mine = [r.index for r in reps if share((r.start_s, r.end_s), (v.start_s, v.end_s)) > 0.5]
                misnumbered += mine != [v.rep]
        last = session.snapshot()
    finally:
        session.close()
    spans = [(r.start_s, r.end_s) for r in reps]
    return {"ahead": ahead, "misnumbered": misnumbered, "counted": len(spans), "judged": last.reps_judged,
            "asked": sum(any(share(r, a) > 0.5 for a in asked) for r in spans)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=0, help="only the first N streams of each kind")
    ap.add_argument("--only", choices=("sets", "pairs"))
    args = ap.parse_args()
    kinds = {"sets": ((f"{m} s{s} {'correct' if c else 'incorrect'}", seq) for m, s, c, seq, _ in ten_rep_sets()),
             "pairs": pairs()}
    print(f"{'streams':8} {'n':>4} {'ahead snapshots':>15} {'streams ahead':>13} {'misnumbered':>11} "
          f"{'streams misnumbered':>19} {'reps counted':>12} {'asked about':>11} {'judged':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for kind, streams in kinds.items():
            if args.only and kind != args.only:
                continue
            rows = []
            for name, seq in streams:
                if args.limit and len(rows) >= args.limit:
                    break
                rows.append(run(seq, Path(tmp)))
                r = rows[-1]
                print(f"  {name:70} counted {r['counted']:2d} asked {r['asked']:2d} judged {r['judged']:2d} "
                      f"ahead {r['ahead']} misnumbered {r['misnumbered']}", file=sys.stderr, flush=True)
            total = {key: sum(r[key] for r in rows) for key in rows[0]}
            print(f"{kind:8} {len(rows):4d} {total['ahead']:15d} {sum(r['ahead'] > 0 for r in rows):13d} "
                  f"{total['misnumbered']:11d} {sum(r['misnumbered'] > 0 for r in rows):19d} {total['counted']:12d} "
                  f"{total['asked'] / total['counted']:11.3f} "
                  f"{total['judged'] / total['counted']:7.3f}", flush=True)


if __name__ == "__main__":
    main()
