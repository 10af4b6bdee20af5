"""The analysed video with its analysis drawn on it: skeleton, angles, rep count, each rep's
verdict, and in a rep judged incorrect the models' corrected pose (green) over the athlete, whose
joints that are off are marked red, and the correction in words ("hips 18 cm lower").

The report's frame scrubber and the annotated MP4 (report download, ``analyze --annotated``)
draw a frame the same way, through ``draw_result_frame``. Frames are matched to the analysis by
time, so uploads analysed one frame in two (slow motion) and live recordings (variable frame
rate) line up too.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from physio_core.config import Settings
from physio_core.results import SessionResult

VERDICT_SHOWN_S = 2.0  # a finished rep's verdict stays in the corner this long
ANNOTATED_MAX_SIDE = 640  # the app analyses frames at this size, so its keypoints fit these frames
CORRECTION_RGB = (39, 174, 96)  # the 3D correction view's colours (report.CORRECTED_COLOUR)
WRONG_RGB = (231, 76, 60)  # report.ATHLETE_COLOUR
WRONG_BY_M = 0.08  # a joint this far from the correction is marked (as in report.correction_figure)
MAX_CAMERA_ERROR = 0.08  # of the body's height in pixels: a worse camera fit draws no correction


@dataclass(frozen=True)
class AnnotatedVideo:
    path: Path
    frames: int
    fps: float  # frames written per second of video (the source's rate, or its analysed rate)
    width: int
    height: int


def hud_lines(result: SessionResult, index: int | None, t: float, correcting: int | None = None) -> list[str]:
    """The corner lines at time ``t`` (s): reps finished by then, the time, the verdict of a rep
    that just ended (when the models judged it) with its correction in words, and "no person"
    where nobody was analysed. ``index``: the analysed frame shown (None: no analysed frame near
    ``t``). ``correcting``: the rep whose corrected pose is drawn on this frame; its correction
    is said instead of the one of the rep before."""
    if index is None:
        done = [r for r in result.reps if r.end_s <= t + 1e-6]
    else:
        done = [r for r in result.reps if r.end_frame <= index]
    lines = [f"Reps: {len(done)}", f"t = {t:.2f} s"]
    if done:
        last = done[-1]
        row = _assessment(result, last.index)
        if row.get("mistake") and t - last.end_s <= VERDICT_SHOWN_S:
            lines.append(f"Rep {last.index}: {row['mistake']}")
            if correcting is None:
                lines += correction_lines(result, last.index)
    if correcting is not None:
        lines += ["green: correction", *correction_lines(result, correcting)]
    if index is None or not result.pose.valid[index]:
        lines.append("no person")
    return lines


def _assessment(result: SessionResult, rep: int) -> dict:
    return next((a for a in result.rep_assessments if a.get("rep") == rep), {})


def correction_lines(result: SessionResult, rep: int) -> list[str]:
    """The correction of rep ``rep`` in words, a line per joint ("hips 18 cm lower"), when the
    models judged it incorrect and its correction moves a joint far enough to be named."""
    from physio_core.correction_cue import said_moves

    row = _assessment(result, rep)
    return said_moves(row.get("correction", "")) if row.get("mistake") == "incorrect" else []


def hud_corner(result: SessionResult, frame_shape: tuple[int, ...]) -> str:
    """The corner of the frame where the corner lines cover the athlete least: the one whose
    band, at its largest (a verdict, the correction's legend and its words shown), holds the fewest of the
    athlete's keypoints over the session; the top-left one unless another holds fewer. One
    corner for the whole video, so the lines do not jump about."""
    from physio_core.overlay import HUD_CORNERS, hud_covered

    pose = result.pose
    if pose.keypoints_2d is None or not pose.valid.any():
        return HUD_CORNERS[0]
    frames = np.flatnonzero(pose.valid)
    frames = frames[:: max(1, len(frames) // 3000)]  # a few thousand frames say where they are
    seen = pose.keypoints_2d[frames][pose.confidence[frames] > 0]
    n = len(result.reps)
    said = max((correction_lines(result, r.index) for r in result.reps), key=len, default=[])
    widest = [f"Reps: {n}", f"t = {float(pose.times[-1]):.2f} s", f"Rep {n}: incorrect",
              "green: correction", *said]
    # argmin keeps the first of equals: top-left
    return HUD_CORNERS[int(np.argmin(hud_covered(seen, frame_shape, widest)))]


@dataclass(frozen=True)
class FrameCorrection:
    keypoints_2d: np.ndarray  # (N_JOINTS, 2) the corrected pose, projected into the frame
    wrong: np.ndarray  # (N_JOINTS,) bool: the athlete's joints more than WRONG_BY_M from it
    rep: int  # the rep it corrects (Rep.index)


def correction_at(result: SessionResult, index: int) -> FrameCorrection | None:
    """The models' corrected pose at analysed frame ``index``, drawn where the athlete stands:
    only inside a rep judged incorrect that has a correction.

    The corrected pose is 3D, in the athlete's own frame. It is projected through a camera
    fitted on the athlete: 2D keypoints = 3D joints @ M + offset, by least squares over the
    joints seen (confidence >= 0.3). M is shared by all the frames of the rep, as the camera
    and the athlete's distance to it hardly change within one; the offset, where the athlete
    stands, is each frame's own. A camera fitted on each frame alone follows every frame's noise
    in the 3D joints, and the correction shook. None when fewer than 6 joints are seen on the
    frame or the fit misses its keypoints by more than ``MAX_CAMERA_ERROR`` of the body's height."""
    pose = result.pose
    if pose.keypoints_2d is None or not pose.valid[index]:
        return None
    rep = next((r for r in result.reps if r.start_frame <= index <= r.end_frame), None)
    if rep is None:
        return None
    verdict = next((a.get("mistake") for a in result.rep_assessments if a.get("rep") == rep.index), None)
    fixed = result.corrected_poses.get(rep.index)
    k = index - rep.start_frame
    if verdict != "incorrect" or fixed is None or k >= len(fixed):
        return None
    target = fixed.joints[k]
    frames = slice(rep.start_frame, min(rep.end_frame + 1, len(pose)))
    joints, kp = pose.joints[frames], pose.keypoints_2d[frames]
    seen = (np.isfinite(joints).all(axis=2) & np.isfinite(kp).all(axis=2)
            & (pose.confidence[frames] >= 0.3))  # (frames, joints)
    here = seen[k] & np.isfinite(target).all(axis=1)
    if here.sum() < 6:
        return None
    n_seen = seen.sum(axis=1)
    used = n_seen >= 6
    count = np.maximum(n_seen, 1)[:, None]
    x_mean = np.where(seen[..., None], joints, 0.0).sum(axis=1) / count  # (frames, 3)
    kp_mean = np.where(seen[..., None], kp, 0.0).sum(axis=1) / count
    rows = seen & used[:, None]
    m, *_ = np.linalg.lstsq((joints - x_mean[:, None])[rows], (kp - kp_mean[:, None])[rows], rcond=None)
    offset = kp_mean[k] - x_mean[k] @ m
    fitted = joints[k, here] @ m + offset
    height = float(np.ptp(kp[k, here, 1])) or 1.0
    if np.sqrt(np.mean(np.sum((fitted - kp[k, here]) ** 2, axis=1))) > MAX_CAMERA_ERROR * height:
        return None
    projected = target @ m + offset
    wrong = here & (np.linalg.norm(joints[k] - target, axis=1) > WRONG_BY_M)
    return FrameCorrection(projected, wrong, rep.index)


def draw_result_frame(rgb: np.ndarray, result: SessionResult, index: int | None, t: float,
                      *, copy: bool = True, corner: str | None = None) -> np.ndarray:
    """``rgb`` (a frame of the analysed video at time ``t``) with analysed frame ``index`` drawn
    on it: skeleton, angle labels, the corner lines of ``hud_lines`` (in ``corner``; None: the
    one ``hud_corner`` picks) and, inside a rep judged incorrect, the correction of
    ``correction_at``."""
    import cv2

    from physio_core.kinematics import ANGLE_NAMES
    from physio_core.overlay import draw_hud, draw_pose, draw_skeleton, pose_at

    pose = pose_at(result.pose, index) if index is not None else None
    angles = None
    if pose is not None and tuple(result.angles.names) == tuple(ANGLE_NAMES):
        angles = result.angles.values[index]
    out = draw_pose(rgb, pose, angles=angles, copy=copy)
    fix = correction_at(result, index) if pose is not None else None
    if fix is not None:
        for j in np.flatnonzero(fix.wrong):  # under the correction, which stays readable
            x, y = (int(round(v)) for v in pose.keypoints_2d[j])
            cv2.circle(out, (x, y), max(5, round(min(out.shape[:2]) / 90)), WRONG_RGB, -1, cv2.LINE_AA)
        draw_skeleton(out, fix.keypoints_2d, colour=CORRECTION_RGB)
    lines = hud_lines(result, index, t, correcting=fix.rep if fix is not None else None)
    return draw_hud(out, lines, corner or hud_corner(result, out.shape))


def frame_index_at(result: SessionResult, t: float, tolerance_s: float | None = None) -> int | None:
    """The analysed frame shown at time ``t``: the last one at or before it (within half a
    millisecond), or None when there is none within ``tolerance_s`` (default 1.5 analysed frame
    periods: a gap in the analysis, or before its first frame)."""
    times = result.pose.times
    if len(times) == 0:
        return None
    i = int(np.searchsorted(times, t + 5e-4, side="right")) - 1
    if i < 0:
        return None
    tol = tolerance_s if tolerance_s is not None else 1.5 / (result.fps or 30.0)
    return i if t - float(times[i]) <= tol else None


def write_annotated_video(
    video: str | os.PathLike,
    result: SessionResult,
    dst: str | os.PathLike,
    *,
    max_side: int | None = ANNOTATED_MAX_SIDE,
    step: int | None = None,
    progress: Callable[[float], None] | None = None,
    settings: Settings | None = None,
) -> AnnotatedVideo:
    """Write ``dst`` (H.264 MP4, playable in browsers): ``video``, the file ``result`` was
    analysed from, with the analysis drawn on every frame it keeps. A ``result`` of a set of
    the recording (``physio_core.sets``) gets only the set's stretch, timed from its start.

    ``max_side`` must be the size the analysis ran at (its keypoints are in those pixels; the app
    and ``analyze`` default to 640). ``step``: keep one frame in ``step``, as the analysis did
    (None: as ``analyze_video`` chooses, one in two at 120 fps, one in four at 240 fps). Frames
    keep their own times. Raises ``physio_core.video.VideoError`` for a video that cannot be
    read. ``progress(fraction)`` is called about a hundred times.
    """
    import av

    from physio_core.pipeline import analysis_step
    from physio_core.video import EmptyVideoError, VideoReader

    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    reader = VideoReader(video, max_side=max_side, settings=settings)
    reader.step = step or analysis_step(reader.info.fps)
    width, height = reader.output_size
    rate = Fraction(reader.info.fps / reader.step).limit_denominator(1001)
    # a set of a longer recording (``physio_core.sets``): only its stretch of the video
    half = 0.5 / (result.fps or 30.0)
    span = ((float(result.pose.times[0]) - half, float(result.pose.times[-1]) + half) if len(result.pose)
            else (-np.inf, np.inf))
    expected = max(1, reader.expected_frames)
    if len(result.pose):
        expected = min(expected, max(1, int(round((span[1] - span[0]) * reader.info.fps / reader.step))))
    every = max(1, expected // 100)
    tb = Fraction(1, 1000)
    written, last_pts = 0, -1
    tmp = dst.with_name(dst.name + ".part")
    try:
        with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            stream = out.add_stream("libx264", rate=rate)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.options = {"preset": "veryfast", "crf": "23"}
            stream.codec_context.time_base = tb
            corner = hud_corner(result, (height, width))
            first = None
            for frame in reader:
                if not span[0] <= frame.time_s <= span[1]:
                    if frame.time_s > span[1]:
                        break
                    continue
                first = frame.time_s if first is None else first
                shown = frame_index_at(result, frame.time_s)
                drawn = draw_result_frame(frame.rgb, result, shown, frame.time_s, copy=False,
                                          corner=corner)
                vf = av.VideoFrame.from_ndarray(drawn, format="rgb24")
                pts = max(last_pts + 1, int(round((frame.time_s - first) * 1000)))
                vf.pts, vf.time_base, last_pts = pts, tb, pts
                for packet in stream.encode(vf):
                    out.mux(packet)
                written += 1
                if progress is not None and written % every == 0:
                    progress(min(1.0, written / expected))
            for packet in stream.encode():
                out.mux(packet)
        if written == 0:
            raise EmptyVideoError(f"No frame could be decoded from '{Path(video).name}'.")
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    if progress is not None:
        progress(1.0)
    return AnnotatedVideo(dst, written, float(rate), width, height)


__all__ = ["AnnotatedVideo", "FrameCorrection", "correction_at", "draw_result_frame", "frame_index_at",
           "hud_corner", "hud_lines", "write_annotated_video"]
