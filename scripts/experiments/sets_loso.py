"""The set search (`physio_core.sets`) on subjects the weights never saw.

    python scripts/experiments/sets_loso.py [--out DIR] [--recordings N] [SUBJECT ...]

`python -m physio_core.sets` scores the search with the installed weights, which were trained
on every UI-PRMD subject. Here, for each subject, the two models the search uses (the exercise
classifier, which reads the recording's windows and each set's exercise, and the rep detector,
which counts a set beside the angle counter) are trained on the other subjects, with the shipped
training's seeds (`ml.suite.train_all(only=...)`, kept under DIR/sNN and reused when there), and
`python -m physio_core.sets --subjects S` runs on that subject's sets with those weights
(`PHYSIO_MODEL_DIR`), and again with the installed weights (trained on every subject), on the
same recordings. Prints each subject's figures and the pooled ones (single sets kept one over
all single sets, two-set figures over all recordings), held out, then installed. The stability
and mistake models are not trained: the figures do not depend on them, and the sets' reports
say they are missing. About 25 min here for the eight subjects.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from _folds import fold_args

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from physio_core.ml.data import load_uiprmd  # noqa: E402
from physio_core.ml.suite import train_all  # noqa: E402
from physio_core.ml.weights import FILES  # noqa: E402
from physio_core.train import CACHE_DIR  # noqa: E402

UIPRMD = ROOT.parent / "shared" / "datasets" / "ui-prmd"
TRAINED = ("classifier", "rep")


def main() -> int:
    args = fold_args(__doc__, "sets_loso", lambda ap: ap.add_argument(
        "--recordings", type=int, default=8, help="two-set recordings per subject (default 8)"))
    reps = load_uiprmd(UIPRMD, CACHE_DIR)
    subjects = args.subjects or sorted({r.subject for r in reps})
    held, installed = {}, {}
    for s in subjects:
        fold = args.out / f"s{s:02d}"
        if not all((fold / FILES[k]).is_file() for k in TRAINED):
            print(f"subject {s:02d} held out: training {', '.join(TRAINED)}", flush=True)
            fold.mkdir(parents=True, exist_ok=True)
            train_all([r for r in reps if r.subject != s], only=set(TRAINED), save_to=fold,
                      log=lambda m: print(f"  s{s:02d}{m}", flush=True))
        held[s] = score(s, args.recordings, args.out / f"s{s:02d}.json", fold)
        installed[s] = score(s, args.recordings, args.out / f"s{s:02d}_installed.json", None)
    for title, rows in (("held out", held), ("installed weights (trained on every subject)", installed)):
        print(title)
        table(rows)
    return 0


def score(subject: int, recordings: int, out: Path, weights: Path | None) -> dict:
    """``python -m physio_core.sets`` on the subject's sets, with ``weights`` (None: installed)."""
    env = {k: v for k, v in os.environ.items() if k != "PHYSIO_MODEL_DIR"}
    if weights is not None:
        env["PHYSIO_MODEL_DIR"] = str(weights)
    subprocess.run([sys.executable, "-m", "physio_core.sets", "--ui-prmd", str(UIPRMD), "--subjects", str(subject),
                    "--recordings", str(recordings), "--json", str(out)],
                   cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def table(rows: dict[int, dict]) -> None:
    print(f"{'subject':>7} {'single sets':>11} {'kept one':>8} {'recordings':>10} {'both found':>10} "
          f"{'counted within 1':>16}")
    for s, f in rows.items():
        print(f"{s:>7} {f['single_sets']:>11} {f['single_kept_one']:>8.3f} {f['two_set_recordings']:>10} "
              f"{f['two_sets_found']:>10.3f} {f['two_sets_counted_within1']:>16.3f}")
    singles = sum(f["single_sets"] for f in rows.values())
    recs = sum(f["two_set_recordings"] for f in rows.values())

    def pooled(key: str, n: str) -> float:
        return sum(f[key] * f[n] for f in rows.values()) / sum(f[n] for f in rows.values())

    print(f"{'all':>7} {singles:>11} {pooled('single_kept_one', 'single_sets'):>8.3f} {recs:>10} "
          f"{pooled('two_sets_found', 'two_set_recordings'):>10.3f} "
          f"{pooled('two_sets_counted_within1', 'two_set_recordings'):>16.3f}")


if __name__ == "__main__":
    raise SystemExit(main())
