"""Recorded-video input: probing, size/length guards and fast frame decoding with PyAV.

Every problem a user can cause with a file (not a video, damaged, no picture, too big, too
long) raises a ``VideoError`` subclass whose message can be shown to them as it is.

Decoding runs in a background thread that fills a small bounded queue: PyAV releases the GIL
while it decodes and rescales, so the pose model works on frame N while frame N+1 is decoded.
"""

from __future__ import annotations

import functools
import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import av
import numpy as np
from av.stream import Disposition

from physio_core.config import Settings, get_settings
from physio_core.results import plausible_filming_time

# phones (mp4, mov, 3gp), cameras and camcorders (AVCHD mts/m2ts, DVD mpg), screen and web exports,
# MPEG-TS (ts) from screen recorders, dashcams and camcorders
VIDEO_EXTENSIONS = ("mp4", "mov", "avi", "webm", "mkv", "m4v", "mts", "m2ts", "ts", "mpg", "3gp")


class VideoError(ValueError):
    """A problem with the video file itself; the message is meant for the user."""


class NotAVideoError(VideoError):
    """The file is not a video container PyAV can read, or it is damaged."""


class NoVideoStreamError(VideoError):
    """The container holds no picture (e.g. an audio-only file)."""


class VideoTooLargeError(VideoError):
    """The file is bigger than ``settings.max_upload_mb``; refused before decoding."""


class VideoTooLongError(VideoError):
    """The recording lasts longer than ``settings.max_video_s``."""


class EmptyVideoError(VideoError):
    """The container has a video stream but no frame could be decoded from it."""


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    width: int
    height: int
    fps: float
    frame_count: int  # from the container when it says so, else estimated from duration
    duration_s: float
    codec: str
    size_bytes: int
    rotation: int = 0  # display rotation in degrees the container asks for
    pixel_aspect: float = 1.0  # width / height of one stored pixel (camcorders store 4:3 pixels)
    interlaced: bool = False  # frames hold two fields filmed 1/50 or 1/60 s apart (1080i camcorders)
    filmed_at: datetime | None = None  # when the camera filmed it (UTC), where the file says so
    container: str = ""  # the demuxer's name ("mpegts", "mov,mp4,m4a,3gp,3g2,mj2", ...)

    @property
    def display_width(self) -> int:
        """The stored width stretched to square pixels, as a player shows the picture."""
        return max(2, round(self.width * self.pixel_aspect))

    def scaled_size(self, max_side: int | None) -> tuple[int, int]:
        """(width, height) in square pixels after fitting the longer side into ``max_side``
        (even numbers). Angles are measured on these frames, so non-square pixels are undone."""
        return fit_size(self.display_width, self.height, max_side)


class VideoFrame(NamedTuple):
    index: int  # index in the decoded stream (0-based), counting skipped frames
    time_s: float  # seconds from the first frame
    rgb: np.ndarray  # (H, W, 3) uint8


def fit_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    if not max_side or max(width, height) <= max_side:
        w, h = width, height
    else:
        scale = max_side / max(width, height)
        w, h = round(width * scale), round(height * scale)
    # even sizes keep every pixel format (yuv420p for y4m, H.264) happy
    return max(2, w - w % 2), max(2, h - h % 2)


def _max_video_s(settings: Settings) -> float:
    return float(settings.max_video_s)


def check_size(size_bytes: int, settings: Settings | None = None) -> None:
    """Refuse a file larger than the configured upload limit (call before reading it)."""
    settings = settings or get_settings()
    limit = settings.max_upload_mb * 1024 * 1024
    if size_bytes > limit:
        raise VideoTooLargeError(
            f"The file is {size_bytes / 2**20:,.0f} MB; the limit is {settings.max_upload_mb} MB. "
            "Trim the recording or export it at a lower resolution."
        )


def _open(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path), mode="r", metadata_errors="ignore")
    except av.error.FileNotFoundError as exc:
        raise FileNotFoundError(f"No such file: {path}") from exc
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise NotAVideoError(
            f"'{path.name}' is not a readable video (it is damaged or not a video format)."
        ) from exc


def _video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream | None:
    """The recording a player would show, never a still stored as a video stream: streams
    marked as cover art or thumbnails are passed over, and among the rest FFmpeg's choice
    wins (an mkv may list an unmarked cover first)."""
    still = Disposition.attached_pic | Disposition.still_image | Disposition.timed_thumbnails
    moving = [s for s in container.streams.video if not s.disposition & still]
    best = container.streams.best("video")
    return best if best in moving else (moving[0] if moving else None)


class _FirstFrame(NamedTuple):
    rotation: int  # counter-clockwise degrees (0, 90, 180, 270) a player turns the frames
    interlaced: bool


def _first_frame(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> _FirstFrame:
    """What only decoded frames tell: the display rotation and whether frames are interlaced.

    Phones store portrait clips as landscape frames plus a display matrix, which PyAV hands out
    with the decoded frames only; the interlaced flag is likewise per frame."""
    try:
        for frame in container.decode(stream):
            rotation = int(round((frame.rotation or 0) / 90.0)) * 90 % 360
            return _FirstFrame(rotation, bool(frame.interlaced_frame))
    except av.error.FFmpegError:  # a damaged first frame: the reader reports the damage
        pass
    return _FirstFrame(0, False)


def _decoded(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
             deinterlace: bool) -> Iterator[av.VideoFrame]:
    """The stream's frames, one out per frame in. Interlaced frames are deinterlaced (bwdif,
    each frame from its first field): left woven, a moving limb shows as two combed copies a
    field apart, which the pose model reads as a blurred, misplaced limb."""
    if not deinterlace:
        yield from container.decode(stream)
        return
    graph = av.filter.Graph()
    source = graph.add_buffer(template=stream)
    bwdif = graph.add("bwdif", "mode=send_frame:parity=auto:deint=interlaced")
    sink = graph.add("buffersink")
    source.link_to(bwdif)
    bwdif.link_to(sink)
    graph.configure()

    def pulled() -> Iterator[av.VideoFrame]:
        while True:
            try:
                yield graph.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                return

    for frame in container.decode(stream):
        graph.push(frame)
        yield from pulled()
    graph.push(None)  # flush the frame the filter holds back to look ahead
    yield from pulled()


def _pixel_aspect(stream: av.video.stream.VideoStream) -> float:
    """The sample aspect ratio the stream declares, 1.0 when it declares none or nonsense."""
    sar = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio
    if not sar or not (0.2 <= float(sar) <= 5.0):
        return 1.0
    return float(sar)


# where cameras write when they filmed: Apple's own tag keeps the capture time (with its time
# zone) when an edit rewrites creation_time; phones, cameras and FFmpeg write creation_time (UTC)
_FILMED_TAGS = ("com.apple.quicktime.creationdate", "creation_time")


def filmed_at(tags: dict[str, str], now: datetime | None = None) -> datetime | None:
    """The time a file's metadata ``tags`` say it was filmed, in UTC; None where they do not say,
    or say something impossible (the 1904/1970 epochs of an unset clock, a time in the future)."""
    for key in _FILMED_TAGS:
        try:
            t = datetime.fromisoformat(str(tags.get(key, "")).strip())
        except ValueError:
            continue
        t = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
        if plausible_filming_time(t, now):
            return t
    return None


@dataclass(frozen=True)
class _Packets:
    """What a video stream's packets tell, read but not decoded (about a second for a long file)."""

    frames: int
    first_s: float | None  # the earliest time
    end_s: float | None  # the latest time a packet lasts to
    goes_back: bool  # a time steps back by more than ``_Clock.JOIN_S`` (recordings joined into one file)

    def duration_s(self, fps: float) -> float:
        return 0.0 if self.first_s is None else max(self.end_s - self.first_s, self.frames / fps)


def _packets(path: Path) -> _Packets:
    """``_packets_of`` the file as it is now: kept while its size and time of change stay (the
    frame scrubber probes it again for each frame)."""
    stat = path.stat()
    return _packets_of(path.resolve(), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _packets_of(path: Path, size: int, mtime_ns: int) -> _Packets:
    frames, first, end, last, back = 0, None, None, None, False
    with _open(path) as container:
        stream = _video_stream(container)
        for packet in container.demux(stream):
            if packet.pts is None or packet.size == 0:  # the demuxer's empty packet at the end
                continue
            frames += 1
            t = float(packet.pts * stream.time_base)
            back = back or (last is not None and t < last - _Clock.JOIN_S)
            last = t if last is None else max(last, t)
            first = t if first is None else min(first, t)
            t_end = t + float((packet.duration or 0) * stream.time_base)
            end = t_end if end is None else max(end, t_end)
    return _Packets(frames, first, end, back)


def probe_video(path: str | os.PathLike, settings: Settings | None = None) -> VideoInfo:
    """Read the container header only: size, fps, frame count, duration, picture size, when filmed.

    Raises FileNotFoundError, VideoTooLargeError (checked from the file size before anything
    is read), NotAVideoError, NoVideoStreamError or VideoTooLongError.
    """
    settings = settings or get_settings()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such file: {path}")
    size = path.stat().st_size
    check_size(size, settings)
    if size == 0:
        raise NotAVideoError(f"'{path.name}' is empty.")
    with _open(path) as container:
        stream = _video_stream(container)
        if stream is None:
            raise NoVideoStreamError(f"'{path.name}' holds no video stream (audio only?).")
        ctx = stream.codec_context
        if not ctx.width or not ctx.height:
            raise NotAVideoError(f"'{path.name}' has a video stream with no picture size.")
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if not (0.5 < fps < 1000):
            fps = 30.0
        duration = 0.0
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        frames = int(stream.frames or 0)
        if frames <= 0:
            frames = int(round(duration * fps))
        if duration <= 0 and frames > 0:
            duration = frames / fps
        first = _first_frame(container, stream)
        if duration <= 0 or frames <= 0:
            # a browser's recording (MediaRecorder WebM) has no duration in its header: the length
            # limit let any such file through, and its analysis had no progress, on one core
            packets = _packets(path)
            frames, duration = packets.frames, packets.duration_s(fps)
        info = VideoInfo(
            path=path,
            width=int(ctx.width),
            height=int(ctx.height),
            fps=fps,
            frame_count=frames,
            duration_s=duration,
            codec=ctx.name or "",
            size_bytes=size,
            rotation=first.rotation,
            pixel_aspect=_pixel_aspect(stream),
            interlaced=first.interlaced,
            filmed_at=filmed_at({**stream.metadata, **container.metadata}),
            container=container.format.name or "",
        )
    max_s = _max_video_s(settings)
    if info.duration_s > max_s:
        raise VideoTooLongError(
            f"The recording lasts {info.duration_s / 60:.1f} min; the limit is "
            f"{max_s / 60:.0f} min. Trim it to the exercise."
        )
    return info


_END = object()


class _Clock:
    """The frames' times, always increasing. A file's timestamps can go back: two recordings
    joined into one (MPEG-TS from a camcorder or a screen recorder, cut and pasted) start the
    second at zero again, and a damaged or remuxed file may repeat a time. Read as they are, the
    second recording's frames fell among the first's, and the session's times went back. A step
    back of more than half a second starts the rest one frame after the frame before; a smaller
    one (a repeated or jittered time) is moved just past it."""

    JOIN_S = 0.5

    def __init__(self, fps: float) -> None:
        self.frame_s = 1.0 / fps if fps > 0 else 1.0 / 30
        self.offset = 0.0
        self.last: float | None = None

    def time(self, stamp: float | None, index: int) -> float:
        t = (index * self.frame_s if stamp is None else float(stamp)) + self.offset
        if self.last is not None and t <= self.last:
            if self.last - t > self.JOIN_S:
                self.offset += self.last + self.frame_s - t
                t = self.last + self.frame_s
            else:
                t = self.last + 0.25 * self.frame_s
        self.last = t
        return t


class VideoReader:
    """Iterate over a video's frames as ``VideoFrame(index, time_s, rgb)``.

    max_side: downscale so that the longer side is at most this many pixels (None: keep size).
    step:     keep one frame in ``step`` (every frame is still decoded: codecs need them).
    threaded: decode in a background thread feeding a queue of ``queue_size`` frames.
    start_index: yield only frames from this decoded index on (earlier ones are decoded, as
              codecs need them, but not converted); indices and times stay those of the
              whole video.

    After iteration ``frames_read`` counts the frames yielded and ``damaged`` tells whether
    decoding stopped early on broken data (frames decoded before the damage were yielded).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        max_side: int | None = None,
        step: int = 1,
        threaded: bool = True,
        queue_size: int = 8,
        settings: Settings | None = None,
        start_index: int = 0,
    ) -> None:
        if step < 1:
            raise ValueError("step must be >= 1")
        self.start_index = max(0, int(start_index))
        self.info = probe_video(path, settings)
        self.max_side = max_side
        self.step = step
        self.threaded = threaded
        self.queue_size = max(1, queue_size)
        self.frames_read = 0
        self.damaged = False

    @property
    def output_size(self) -> tuple[int, int]:
        w, h = self.info.scaled_size(self.max_side)
        return (h, w) if self.info.rotation in (90, 270) else (w, h)

    @property
    def expected_frames(self) -> int:
        """Frames the iteration should yield (from the header; an estimate for some files)."""
        return -(-self.info.frame_count // self.step)

    def _decode(self, stop: threading.Event) -> Iterator[VideoFrame]:
        width, height = self.info.scaled_size(self.max_side)
        rot = self.info.rotation
        t0: float | None = None
        clock = _Clock(self.info.fps)
        decoded = 0
        with _open(self.info.path) as container:
            stream = _video_stream(container)
            stream.thread_type = "AUTO"  # frame + slice threads inside FFmpeg
            try:
                for index, frame in enumerate(_decoded(container, stream, self.info.interlaced)):
                    if stop.is_set():
                        return
                    decoded += 1
                    t = clock.time(frame.time, index)
                    if index % self.step:
                        continue
                    if t0 is None:
                        t0 = t
                    if index < self.start_index:
                        continue
                    rgb = frame.to_ndarray(
                        width=width, height=height, format="rgb24", interpolation="AREA"
                    )
                    if rot:
                        # display matrix angles are counter-clockwise
                        rgb = np.ascontiguousarray(np.rot90(rgb, k=rot // 90))
                    yield VideoFrame(index, float(t - t0), rgb)
            except av.error.FFmpegError as exc:
                if decoded == 0:
                    raise NotAVideoError(
                        f"'{self.info.path.name}' could not be decoded (damaged file)."
                    ) from exc
                self.damaged = True  # keep what was read before the damage

    def __iter__(self) -> Iterator[VideoFrame]:
        self.frames_read = 0
        self.damaged = False
        source = self._threaded() if self.threaded else self._decode(threading.Event())
        for item in source:
            self.frames_read += 1
            yield item
        if self.frames_read == 0:
            raise EmptyVideoError(f"No frame could be decoded from '{self.info.path.name}'.")

    def _threaded(self) -> Iterator[VideoFrame]:
        q: queue.Queue = queue.Queue(maxsize=self.queue_size)
        stop = threading.Event()

        def put(item: object) -> bool:
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def produce() -> None:
            try:
                for item in self._decode(stop):
                    if not put(item):
                        return
            except BaseException as exc:  # handed to the consumer, raised there
                put(exc)
                return
            put(_END)

        worker = threading.Thread(target=produce, name="video-decode", daemon=True)
        worker.start()
        try:
            while True:
                item = q.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            # the consumer may stop early (error, cancel): release the producer
            stop.set()
            worker.join(timeout=5)


def iter_frames(
    path: str | os.PathLike,
    *,
    max_side: int | None = None,
    step: int = 1,
    threaded: bool = True,
    settings: Settings | None = None,
) -> Iterator[VideoFrame]:
    """Shortcut for ``iter(VideoReader(...))``: yields (frame_index, time_s, rgb)."""
    return iter(VideoReader(path, max_side=max_side, step=step, threaded=threaded, settings=settings))


def read_frame(
    path: str | os.PathLike, index: int | None = None, *, time_s: float | None = None,
    max_side: int | None = None,
) -> np.ndarray:
    """The RGB frame at ``index`` (counted at the stream's average rate) or at ``time_s`` seconds
    from the first frame, as ``VideoFrame.time_s`` counts them (decodes from the nearest
    preceding keyframe)."""
    if (index is None) == (time_s is None):
        raise ValueError("give either index or time_s")
    info = probe_video(path)
    width, height = info.scaled_size(max_side)
    if _joined(info):  # its times are the reader's clock's, which no seek knows
        return _rgb(_frame_by_clock(info, (time_s if time_s is not None else index / info.fps) - 0.5 / info.fps),
                    info, width, height)
    found = None
    # an MPEG-TS seek may land after the time asked (it seeks by bytes): seek further back then
    for back_s in (0.0, 1.0, 5.0):
        with _open(info.path) as container:
            stream = _video_stream(container)
            rate = stream.average_rate or Fraction(int(round(info.fps * 1000)), 1000)
            target_s = time_s if time_s is not None else index / float(rate)
            half = 0.5 / float(rate)
            if stream.time_base is not None and target_s - back_s > 0:
                start = stream.start_time or 0
                container.seek(start + int((target_s - back_s) / stream.time_base), stream=stream, backward=True)
            for k, frame in enumerate(_decoded(container, stream, info.interlaced)):
                if frame.time is None or stream.start_time is None or stream.time_base is None:
                    found = frame
                    break
                t = frame.time - float(stream.start_time * stream.time_base)
                if k == 0 and t > target_s + half and target_s - back_s > 0:
                    break  # landed past it
                if t >= target_s - half:
                    found = frame
                    break
        if found is not None or target_s - back_s <= 0:
            break
    if found is None:  # past the end, or a time only the reader's clock gives (recordings joined)
        found = _frame_by_clock(info, target_s - half)
    return _rgb(found, info, width, height)


def _rgb(frame: av.VideoFrame, info: VideoInfo, width: int, height: int) -> np.ndarray:
    rgb = frame.to_ndarray(width=width, height=height, format="rgb24", interpolation="AREA")
    if info.rotation:
        rgb = np.ascontiguousarray(np.rot90(rgb, k=info.rotation // 90))
    return rgb


def _joined(info: VideoInfo) -> bool:
    """Whether the file is an MPEG-TS whose times go back (recordings joined into one file)."""
    return "mpegts" in info.container and _packets(info.path).goes_back


def _frame_by_clock(info: VideoInfo, target_s: float) -> av.VideoFrame:
    """The first frame at or after ``target_s`` as ``VideoReader`` times them, else the last one,
    decoded from the start: a seek finds no frame at a time that the file's own timestamps do not
    hold, such as those of the second of two recordings joined into one file (``_Clock``)."""
    clock, t0, last = _Clock(info.fps), None, None
    with _open(info.path) as container:
        stream = _video_stream(container)
        for index, frame in enumerate(_decoded(container, stream, info.interlaced)):
            t = clock.time(frame.time, index)
            t0 = t if t0 is None else t0
            last = frame
            if t - t0 >= target_s:
                break
    if last is None:
        raise EmptyVideoError(f"No frame could be decoded from '{info.path.name}'.")
    return last


def write_y4m(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    max_side: int | None = 640,
    fps: float | None = None,
    max_frames: int | None = None,
) -> Path:
    """Convert a video into a raw YUV4MPEG2 (4:2:0) clip, e.g. for Chromium's fake camera.

    Chromium's ``--use-file-for-fake-video-capture=CLIP.y4m`` loops such a file. Frames are
    written at their own rate (``fps`` only changes the header's declared rate).
    """
    dst = Path(dst)
    reader = VideoReader(src, max_side=max_side, threaded=False)
    width, height = reader.output_size
    rate = Fraction(fps or reader.info.fps).limit_denominator(1001)
    dst.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with dst.open("wb") as out:
        out.write(
            f"YUV4MPEG2 W{width} H{height} F{rate.numerator}:{rate.denominator} "
            "Ip A1:1 C420jpeg\n".encode("ascii")
        )
        for _, _, rgb in reader:
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            yuv = frame.to_ndarray()  # (H * 3 / 2, W): Y plane, then U, then V
            out.write(b"FRAME\n")
            out.write(np.ascontiguousarray(yuv).tobytes())
            written += 1
            if max_frames and written >= max_frames:
                break
    return dst
