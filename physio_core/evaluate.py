"""Score the learned models on UI-PRMD-like data (and the IMU rep counter on an IMU folder).

    python -m physio_core.evaluate --ui-prmd DIR [--imu DIR] [--json FILE] [--models DIR]
        scores the SHIPPED weights on every rep under DIR.
    python -m physio_core.evaluate --cv [--ui-prmd DIR] [--subjects 1,2,...] [--jobs N] [--imu DIR] [--json FILE]
        leave-one-subject-out: for each subject, trains every model on the other subjects and
        scores it on that one; the figures pool all held-out subjects. --jobs N runs N folds at
        once in separate processes (one core each); the figures are the same.

Prints one table; the JSON holds the contract keys (fractions in [0, 1]; rep_count_mae is the
mean of |pred - true| / true) plus details; on the shipped weights, ``models`` names them as an
assessed session does (``ml.weights.weights_fingerprint``).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from physio_core.config import get_settings
from physio_core.ml.common import ModelMissing, set_threads
from physio_core.train import CACHE_DIR, DEFAULT_UIPRMD

CONTRACT_KEYS = (
    "movement_accuracy", "mistake_macro_accuracy", "corrected_success", "rep_count_mae",
    "rep_count_obo", "anomaly_auc", "imu_rep_within1",
)
GOALS = {
    "movement_accuracy": ">= 0.98", "mistake_macro_accuracy": ">= 0.93",
    "corrected_success": ">= 0.95", "rep_count_obo": ">= 0.98", "rep_count_mae": "<= 0.03",
    "anomaly_auc": ">= 0.90", "imu_rep_within1": ">= 0.95",
    "rep_count_app_obo": ">= 0.98", "rep_count_app_mae": "<= 0.03",
}
ROWS = (
    ("movement_accuracy", "exercise classifier: movement accuracy (10 movements)"),
    ("movement_macro_accuracy", "exercise classifier: macro accuracy"),
    ("other_accuracy", "exercise classifier: synthetic 'other' windows recognised"),
    ("mistake_macro_accuracy", "mistake GCN: correct-vs-incorrect macro accuracy"),
    ("mistake_20class_macro_accuracy", "mistake GCN: 20-class (movement x correctness) macro"),
    ("mistake_movement_accuracy", "mistake GCN: movement part accuracy"),
    ("corrected_success", "mistake GCN: incorrect reps judged correct after correction"),
    ("corrected_reference", "  reference: own nearest correct rep in its place, judged correct"),
    ("judge_macro_accuracy", "independent judge: correct-vs-incorrect macro accuracy"),
    ("judge_incorrect_passed_uncorrected", "independent judge: incorrect reps passed uncorrected"),
    ("rep_count_mae", "rep detector: count MAE |pred-true|/true"),
    ("rep_count_obo", "rep detector: off-by-one accuracy"),
    ("rep_count_exact", "rep detector: exact count"),
    ("rep_boundary_error_s", "rep detector: start/end error (s), exactly counted sets"),
    ("rep_count_angle_mae", "principal-angle counter (movement given): MAE"),
    ("rep_count_angle_obo", "principal-angle counter: off-by-one accuracy"),
    ("rep_count_angle_exact", "principal-angle counter: exact count"),
    ("rep_count_app_mae", "app rep count (larger of detector and angle counter): MAE"),
    ("rep_count_app_obo", "app rep count: off-by-one accuracy"),
    ("rep_count_app_exact", "app rep count: exact count"),
    ("rep_count_obo_2x", "sets 2x faster, off-by-one: rep detector"),
    ("rep_count_angle_obo_2x", "sets 2x faster, off-by-one: principal-angle counter"),
    ("rep_count_app_obo_2x", "sets 2x faster, off-by-one: app rep count"),
    ("rep_count_obo_3x", "sets 3x faster, off-by-one: rep detector"),
    ("rep_count_angle_obo_3x", "sets 3x faster, off-by-one: principal-angle counter"),
    ("rep_count_app_obo_3x", "sets 3x faster, off-by-one: app rep count"),
    ("anomaly_auc", "stability: anomaly ROC AUC correct vs incorrect (mean over movements)"),
    ("anomaly_auc_pooled", "stability: anomaly ROC AUC, all movements pooled"),
    ("anomaly_auc_ae", "stability: LSTM autoencoder alone"),
    ("anomaly_auc_iforest", "stability: IsolationForest alone"),
    ("anomaly_auc_ocsvm", "stability: One-Class SVM alone"),
    ("anomaly_auc_supervised", "stability: supervised calibration alone"),
    ("anomaly_auc_mistake", "stability: mistake GCN's P(incorrect) alone"),
    ("imu_rep_exact", "IMU: sets counted exactly"),
    ("imu_rep_within1", "IMU: sets counted within +-1"),
    ("imu_edges_still_within1", "IMU: within +-1, 6 s held still before and after"),
    ("imu_edges_moving_within1", "IMU: within +-1, 6 s moving about before and after"),
)


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def render_table(title: str, figs: dict) -> str:
    width = max(len(d) for _, d in ROWS)
    lines = [title, f"{'figure':<{width}}  {'value':>7}  goal", "-" * (width + 20)]
    for key, desc in ROWS:
        if key in figs:
            lines.append(f"{desc:<{width}}  {_fmt(figs[key]):>7}  {GOALS.get(key, '')}")
    for group in ("movement_per_class", "mistake_per_class", "anomaly_auc_per_movement"):
        if group in figs:
            lines.append(f"{group}: " + ", ".join(f"{k} {v:.3f}" for k, v in figs[group].items()))
    if "rep_count_sets" in figs:
        lines.append(f"rep sets scored: {figs['rep_count_sets']}")
    return "\n".join(lines)


def _imu(dir_: Path | None, figs: dict, cv: bool) -> None:
    if dir_ is None:
        return
    from physio_core.imu.evaluate import evaluate_imu

    res = evaluate_imu(dir_, cv=cv)
    if res["n_lifting_sets"]:  # a folder of rest recordings only has no rep figure (not 0)
        for k in ("imu_rep_within1", "imu_rep_exact"):
            figs[k] = float(res[k])
    # left out by evaluate_imu when there is no lifting set, or (moving) no rest recording
    for kind in ("still", "moving"):
        if f"{kind}_rep_within1" in res["imu_edges"]:
            figs[f"imu_edges_{kind}_within1"] = float(res["imu_edges"][f"{kind}_rep_within1"])


def _too_few(reps: list, cv: bool) -> str | None:
    """Why these UI-PRMD reps cannot be evaluated, or None."""
    from physio_core.ml.data import too_few_movements

    if (why := too_few_movements(reps)) is not None:
        return why
    if cv and len({r.subject for r in reps}) < 2:
        return "reps of one subject only; --cv holds each subject out in turn and trains on the others"
    return None


def _imu_unreadable(dir_: Path, cv: bool = False) -> str | None:
    """Why the IMU folder cannot be evaluated (no set, a file that is not a MetaMotion export, one
    participant for --cv), or None. Said before minutes of UI-PRMD scoring: reading every set takes
    about a second."""
    from physio_core.imu.io import ImuFormatError, list_sets

    try:
        sets = list_sets(dir_)  # reads every accelerometer file, to drop copies
        for s in sets:
            s.load()
    except ImuFormatError as e:
        return str(e)
    if not sets:
        return (f"no MetaMotion sets in {dir_} (files named like "
                "A-bench-heavy_MetaWear_<time>_<device>_Accelerometer_12.500Hz_1.4.4.csv)")
    if cv and len({s.participant for s in sets}) < 2:
        return (f"the sets in {dir_} are of one participant; --cv holds each participant out in turn and "
                "trains the lift classifier on the others")
    return None


def _json_unwritable(path: Path) -> str | None:
    """Why the figures could not be written to ``path`` (made ready: parent folders created), or
    None. Checked before the evaluation, so that a bad --json does not cost a run of many minutes."""
    if path.is_dir():
        return f"--json {path} is a folder; give a file name"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in reversed(path.parents) if p.exists() and not p.is_dir()), path.parent)
        return f"cannot write --json {path}: {blocker} is a file, not a folder"
    except OSError as e:
        return f"cannot write --json {path}: {e.strerror or e}"
    existed = path.exists()
    try:
        with path.open("a"):  # append: an existing file is not emptied by the check
            pass
    except OSError as e:
        return f"cannot write --json {path}: {e.strerror or e}"
    if not existed:
        path.unlink()
    return None


def _subject_list(text: str) -> list[int]:
    """--subjects: numbers separated by commas, each once, in the order given."""
    try:
        return list(dict.fromkeys(int(s) for s in text.split(",") if s.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected subject numbers separated by commas (e.g. 1,7), got {text!r}"
        ) from None


def _cv_fold(s: int, train: list, train_targets: list, test: list):
    """One leave-one-subject-out fold (a function of its own so that a worker process can run it)."""
    from physio_core.ml import suite

    set_threads(1)
    models = suite.train_all(train, train_targets, log=lambda m: print(f"  s{s:02d}{m}", flush=True))
    return suite.score_all(models, test)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m physio_core.evaluate", description=__doc__.split("\n")[0])
    ap.add_argument("--ui-prmd", type=Path, default=None, help="folder laid out like ui-prmd")
    ap.add_argument("--imu", type=Path, default=None, help="MetaMotion IMU folder")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    ap.add_argument("--models", type=Path, default=None, help="weights folder (shipped by default)")
    ap.add_argument("--cv", action="store_true", help="leave-one-subject-out training and scoring")
    ap.add_argument("--subjects", type=_subject_list, default=[],
                    help="with --cv: only hold out these subjects (e.g. 1,7)")
    ap.add_argument("--jobs", type=int, default=1, help="with --cv: folds run at once (one core each)")
    args = ap.parse_args(argv)
    ui = args.ui_prmd or (DEFAULT_UIPRMD if args.cv else None)
    if ui is None and args.imu is None:
        ap.error("give --ui-prmd DIR (and/or --imu DIR), or --cv")
    if args.subjects and not args.cv:  # without --cv every subject in the folder is scored
        ap.error("--subjects picks the subjects --cv holds out: give --cv too")
    if args.json is not None:
        why = _json_unwritable(args.json)
        if why:
            print(f"error: {why}", file=sys.stderr)
            return 2
    if ui is not None and not ui.is_dir():
        print(f"error: UI-PRMD folder not found: {ui}", file=sys.stderr)
        return 2
    if args.imu is not None and not args.imu.is_dir():
        print(f"error: IMU folder not found: {args.imu}", file=sys.stderr)
        return 2
    if args.imu is not None:
        why = _imu_unreadable(args.imu, args.cv)
        if why:
            print(f"error: {why}", file=sys.stderr)
            return 2
    set_threads(1)
    from physio_core.datasets.uiprmd import UIPRMDFormatError, list_reps
    from physio_core.imu.io import ImuFormatError
    from physio_core.ml import suite
    from physio_core.ml.data import load_uiprmd
    from physio_core.ml.weights import weights_fingerprint

    t0 = time.perf_counter()
    figs: dict = {}
    if ui is not None:
        try:
            if args.cv and args.subjects:
                # by the file names, before the files are read
                there = sorted({r.subject for r in list_reps(ui)})
                unknown = [s for s in args.subjects if s not in there]
                if unknown:
                    print(f"error: --subjects {', '.join(map(str, unknown))} not in {ui} "
                          f"(its subjects: {', '.join(map(str, there))})", file=sys.stderr)
                    return 2
            reps = load_uiprmd(ui, CACHE_DIR if ui.resolve() == DEFAULT_UIPRMD.resolve() else None)
        except (FileNotFoundError, UIPRMDFormatError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        subjects = sorted({r.subject for r in reps})
        if (why := _too_few(reps, args.cv)) is not None:
            print(f"error: {ui}: {why}", file=sys.stderr)
            return 2
        if args.cv:
            from physio_core.ml.gcn import correction_targets, rep_input

            held = args.subjects or subjects
            inputs = [rep_input(r.joints) for r in reps]
            targets = correction_targets(reps, inputs)
            folds = {s: ([r for r in reps if r.subject != s],
                         [t for t, r in zip(targets, reps) if r.subject != s],
                         [r for r in reps if r.subject == s]) for s in held}
            raw = suite.Raw()
            if args.jobs <= 1:
                for s in held:
                    print(f"fold: subject {s:02d} held out", flush=True)
                    raw.extend(_cv_fold(s, *folds[s]))
            else:
                # spawn, not fork: a forked torch can hang on locks its parent held
                ctx = multiprocessing.get_context("spawn")
                with ProcessPoolExecutor(max_workers=args.jobs, mp_context=ctx) as pool:
                    running = {s: pool.submit(_cv_fold, s, *folds[s]) for s in held}
                    print(f"folds {', '.join(f's{s:02d}' for s in held)} held out, "
                          f"{args.jobs} at a time", flush=True)
                    for s in held:  # pooled in the same order as one at a time
                        raw.extend(running[s].result())
            figs = suite.figures(raw)
            title = (f"LOSO cross-validation on {ui} (held out: {', '.join(f's{s:02d}' for s in held)}"
                     f"{'' if held == subjects else '; NOT all subjects'})")
            figs["cv_subjects"] = held
        else:
            mdir = args.models or get_settings().model_dir
            try:
                models = suite.Models.load(mdir)
            except (ModelMissing, ValueError) as e:
                print(f"error: {e}", file=sys.stderr)
                return 2
            figs = suite.figures(suite.score_all(models, reps))
            figs["models"] = weights_fingerprint(mdir)
            title = (f"shipped weights ({mdir}, weights {figs['models']}) on {ui}: subjects {subjects} "
                     "(training subjects score high; not a generalisation figure)")
    else:
        title = "IMU only"
    imu_error = None
    try:
        _imu(args.imu, figs, args.cv)
    except ImuFormatError as e:  # a file changed since the check above: the UI-PRMD figures are still kept
        imu_error = str(e)
    figs["seconds"] = round(time.perf_counter() - t0, 1)
    print(render_table(title, figs))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figs, indent=2, default=float))
        print(f"figures written to {args.json}")
    if imu_error:
        print(f"error: {imu_error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    from physio_core.config import run_cli

    raise SystemExit(run_cli(main))
