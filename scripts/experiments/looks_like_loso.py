"""How often does the live page's "the movement looks like ..." fire, on subjects the classifier never saw?

    python scripts/experiments/looks_like_loso.py [--out DIR] [SUBJECT ...]

With an exercise named, a live session reads the exercise of the last 3 s twice a second
(`assess.recognise_window`) and says that the movement looks like another once
`LiveConfig.looks_like_after` sure readings (confidence >= `assess.UNSURE_BELOW`) of one other
movement come with none of the named one between them; "other" (a pause) and guesses leave the
run as it is (`LiveSession._note_unlike`). This replays that rule on `evaluate`'s 320 scoring
sets (UI-PRMD reps of one subject joined with pauses), the readings made by a classifier trained
without the set's subject, exactly as `evaluate --cv` trains it (kept in DIR/foldS.pt, reused
when present; about 35 s per fold on 2 cores), and prints for a few run lengths:
- false alarms: sets named as what they are in which the message comes up;
- wrong exercise found: each set named as each of the nine other movements, how often the
  message comes up, and after how many seconds (median, 90th percentile).
The app uses eight (the figures are in models/exercise_classifier.md).
The readings see the whole 3 s window (or all frames so far at the start), smoothed as
`recognise_window` smooths them, every 0.5 s from the set's first frame.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from _folds import fold_args  # noqa: E402

from physio_core.assess import MIN_REP_FRAMES, UNSURE_BELOW  # noqa: E402
from physio_core.ml import suite  # noqa: E402
from physio_core.ml.classifier import ExerciseClassifier  # noqa: E402
from physio_core.ml.data import FPS, N_MOVEMENTS, OTHER, load_uiprmd  # noqa: E402
from physio_core.ml.repcount import build_sets  # noqa: E402
from physio_core.pipeline import smooth_sequence  # noqa: E402
from physio_core.skeleton import PoseSequence  # noqa: E402
from physio_core.train import CACHE_DIR, DEFAULT_UIPRMD  # noqa: E402

RUNS = (4, 6, 8, 10)
EVERY_S, WINDOW_S = 0.5, 3.0


def readings(model: ExerciseClassifier, joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(times, probabilities) of the readings a live session makes on one set."""
    times = np.arange(len(joints)) / FPS
    ends = [k for k in range(MIN_REP_FRAMES, len(joints) + 1)
            if (k - 1) % int(EVERY_S * FPS) == 0]
    windows = []
    for k in ends:
        a = max(0, k - int(WINDOW_S * FPS))
        seq = PoseSequence(joints[a:k], np.ones(joints[a:k].shape[:2]), times[a:k], FPS)
        windows.append(smooth_sequence(seq).joints)
    return times[np.array(ends) - 1], model.predict_proba(windows)


def fires(p: np.ndarray, named: int, after: int) -> int | None:
    """The index of the reading at which the message comes up, None if never."""
    label, sure = p.argmax(1), p.max(1) >= UNSURE_BELOW
    last, n = None, 0
    for i, (k, ok) in enumerate(zip(label, sure)):
        if k == named:
            last, n = None, 0
        elif k != OTHER and ok:
            n = n + 1 if k == last else 1
            last = k
            if n >= after:
                return i
    return None


def run_folds(out: Path, held: list[int]) -> None:
    reps = load_uiprmd(DEFAULT_UIPRMD, CACHE_DIR)
    for s in held or sorted({r.subject for r in reps}):
        path = out / f"fold{s}.npz"
        if path.exists():
            continue
        t0 = time.time()
        model_path = out / f"fold{s}.pt"
        if model_path.exists():
            model = ExerciseClassifier.load(model_path)
        else:
            model = ExerciseClassifier().fit([r for r in reps if r.subject != s])
            model.save(model_path)
        rng = np.random.default_rng(suite.SCORE_SEED)  # evaluate's scoring sets of this subject
        sets = build_sets([r for r in reps if r.subject == s], rng, per_group=2, augment=False)
        arrays = {}
        for i, (joints, _, _, movement) in enumerate(sets):
            t, p = readings(model, joints)
            arrays[f"t{i}"], arrays[f"p{i}"], arrays[f"m{i}"] = t, p, np.array(movement)
        np.savez(path, **arrays)
        print(f"fold s{s:02d}: {len(sets)} sets in {time.time() - t0:.0f} s", flush=True)


def report(out: Path) -> None:
    sets = []
    for f in sorted(out.glob("fold*.npz")):
        d = np.load(f)
        sets += [(d[f"t{i}"], d[f"p{i}"], int(d[f"m{i}"])) for i in range(len(d.files) // 3)]
    print(f"{len(sets)} sets, {sum(len(t) for t, _, _ in sets)} readings")
    print("run  false alarms (named right)   wrong exercise found   seconds to it (median, p90)")
    for after in RUNS:
        false = sum(fires(p, m, after) is not None for _, p, m in sets)
        found, secs = 0, []
        for t, p, m in sets:
            for named in range(N_MOVEMENTS):
                if named != m and (i := fires(p, named, after)) is not None:
                    found += 1
                    secs.append(t[i])
        wrong = len(sets) * (N_MOVEMENTS - 1)
        print(f"{after:>3}  {false:>4} of {len(sets)} ({false / len(sets):.3f})        "
              f"{found / wrong:.3f} of {wrong}           {np.median(secs):.1f}, {np.percentile(secs, 90):.1f}")


def main() -> None:
    args = fold_args(__doc__, "looks_like")
    run_folds(args.out, args.subjects)
    report(args.out)


if __name__ == "__main__":
    main()
