"""Train every UI-PRMD model on all subjects and write the weights under models/.

    python -m physio_core.train [--ui-prmd DIR] [--out DIR] [--only classifier,rep,...]

CPU only, fixed seeds (each model seeds torch / numpy itself), one torch thread; each model's
weights are written as soon as it is trained.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from physio_core.config import PROJECT_ROOT, get_settings
from physio_core.ml.common import set_threads

DEFAULT_UIPRMD = PROJECT_ROOT.parent / "shared" / "datasets" / "ui-prmd"
CACHE_DIR = PROJECT_ROOT / ".cache"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m physio_core.train", description=__doc__.split("\n")[0])
    ap.add_argument("--ui-prmd", type=Path, default=DEFAULT_UIPRMD, help="UI-PRMD folder")
    ap.add_argument("--out", type=Path, default=None, help="weights folder (default: settings.model_dir)")
    ap.add_argument("--only", default="", help="comma list of classifier,rep,stability,gcn,judge")
    args = ap.parse_args(argv)
    if not args.ui_prmd.is_dir():
        print(f"error: UI-PRMD folder not found: {args.ui_prmd}", file=sys.stderr)
        return 2
    out = args.out or get_settings().model_dir
    set_threads(1)
    from physio_core.datasets.uiprmd import UIPRMDFormatError
    from physio_core.ml import suite
    from physio_core.ml.data import load_uiprmd, too_few_movements

    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - set(suite.FILES)
    if unknown:
        print(f"error: unknown model(s) {sorted(unknown)}; choose from {list(suite.FILES)}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        reps = load_uiprmd(
            args.ui_prmd, CACHE_DIR if args.ui_prmd.resolve() == DEFAULT_UIPRMD.resolve() else None
        )
    except (FileNotFoundError, UIPRMDFormatError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if (why := too_few_movements(reps)) is not None:
        print(f"error: {args.ui_prmd}: {why}", file=sys.stderr)
        return 2
    subjects = sorted({r.subject for r in reps})
    print(f"UI-PRMD: {len(reps)} reps, subjects {subjects}")
    suite.train_all(reps, only=only or None, save_to=out)
    print(f"weights written to {out} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    from physio_core.config import run_cli

    raise SystemExit(run_cli(main))
