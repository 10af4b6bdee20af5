"""The command line the leave-one-subject-out experiment scripts share."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from physio_core.ml.common import set_threads  # noqa: E402
from physio_core.train import CACHE_DIR  # noqa: E402


def fold_args(doc: str, name: str, extra: Callable[[argparse.ArgumentParser], None] | None = None
              ) -> argparse.Namespace:
    """``[--out DIR] [extra options] [SUBJECT ...]`` parsed: DIR (default .cache/NAME) is
    created, no SUBJECT means every subject. Torch runs on one thread, as `evaluate --cv` does."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--out", type=Path, default=CACHE_DIR / name)
    if extra is not None:
        extra(ap)
    ap.add_argument("subjects", nargs="*", type=int)
    args = ap.parse_args()
    set_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    return args
