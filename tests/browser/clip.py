"""The fake webcam for the browser test: a real video of a person as a 640x480 y4m clip.

Chromium's ``--use-file-for-fake-video-capture=CLIP.y4m`` loops a raw YUV4MPEG2 (4:2:0) file.
The source is tests/data/sports2d_demo.mp4 (a man doing jumping jacks, see tests/data/SOURCE.md):
a 480x360 crop around the athlete is scaled to 640x480, the webcam's usual 4:3 size.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

SOURCE = Path(__file__).resolve().parents[1] / "data" / "sports2d_demo.mp4"
WIDTH, HEIGHT, FPS = 640, 480, 30


# (x0, y0, x1, y1) of the 720x720 source: the athlete on the box, without the passer-by who
# walks along the bottom later in the clip
CROP = (90, 0, 570, 360)


def webcam_frames(src: Path = SOURCE, max_frames: int = 150) -> list[np.ndarray]:
    """RGB (480, 640, 3) frames: a 4:3 crop around the athlete, scaled."""
    x0, y0, x1, y1 = CROP
    frames: list[np.ndarray] = []
    with av.open(str(src)) as container:
        for frame in container.decode(video=0):
            top = np.ascontiguousarray(frame.to_ndarray(format="rgb24")[y0:y1, x0:x1])
            frames.append(av.VideoFrame.from_ndarray(top, format="rgb24")
                          .reformat(width=WIDTH, height=HEIGHT).to_ndarray(format="rgb24"))
            if len(frames) >= max_frames:
                break
    return frames


def write_y4m(frames: list[np.ndarray], dst: Path, fps: int = FPS) -> Path:
    """Write RGB frames as a yuv420p YUV4MPEG2 clip (the header Chromium's reader accepts)."""
    h, w = frames[0].shape[:2]
    with dst.open("wb") as out:
        out.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for rgb in frames:
            yuv = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            out.write(b"FRAME\n")
            out.write(np.ascontiguousarray(yuv.to_ndarray()).tobytes())
    return dst


def make_clip(dst: Path, max_frames: int = 150) -> tuple[Path, list[np.ndarray]]:
    frames = webcam_frames(max_frames=max_frames)
    return write_y4m(frames, dst), frames
