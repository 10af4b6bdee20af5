"""Make a YUV4MPEG2 clip for Chromium's fake camera (--use-file-for-fake-video-capture=CLIP.y4m).

    python scripts/make_y4m.py [VIDEO] --out CLIP.y4m [--max-side 640] [--max-frames N]

VIDEO defaults to the committed real test clip (tests/data/sports2d_demo.mp4). Raw y4m is
large (about 0.6 MB a frame at 640x640), so the file is made on demand and never committed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from physio_core.video import VideoError, write_y4m  # noqa: E402

DEFAULT_CLIP = ROOT / "tests" / "data" / "sports2d_demo.mp4"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", nargs="?", default=str(DEFAULT_CLIP))
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-side", type=int, default=640)
    ap.add_argument("--max-frames", type=int, default=None)
    args = ap.parse_args(argv)
    try:
        dst = write_y4m(args.video, args.out, max_side=args.max_side, max_frames=args.max_frames)
    except (VideoError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(dst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
