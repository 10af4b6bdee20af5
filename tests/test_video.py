"""Video probing, decoding and the typed errors, on the real test clip and on broken files."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from conftest import (
    write_anamorphic_clip,
    write_clip,
    write_interlaced_clip,
    write_phone_clip,
    write_tagged_copy,
)
from physio_core.config import Settings
from physio_core.video import (
    VIDEO_EXTENSIONS,
    NotAVideoError,
    NoVideoStreamError,
    VideoError,
    VideoReader,
    VideoTooLargeError,
    VideoTooLongError,
    filmed_at,
    iter_frames,
    probe_video,
    read_frame,
    write_y4m,
)

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "tests" / "data" / "sports2d_demo.mp4"


def test_probe_real_clip():
    info = probe_video(CLIP)
    assert (info.width, info.height) == (720, 720)
    assert info.fps == pytest.approx(30.0)
    assert info.frame_count == 230
    assert info.duration_s == pytest.approx(230 / 30, abs=0.05)
    assert info.codec == "h264"
    assert info.scaled_size(640) == (640, 640)
    assert info.scaled_size(None) == (720, 720)


def test_the_time_a_phone_filmed_a_clip_is_read_from_its_file(tmp_path):
    assert probe_video(CLIP).filmed_at is None  # FFmpeg wrote this one and no time
    mp4 = write_tagged_copy(CLIP, tmp_path / "phone.mp4", {"creation_time": "2026-11-30T14:02:11.000000Z"})
    assert probe_video(mp4).filmed_at == datetime(2026, 11, 30, 14, 2, 11, tzinfo=UTC)
    # an iPhone's own tag keeps the capture time, with its zone, where an edit rewrote creation_time
    mov = write_tagged_copy(CLIP, tmp_path / "iphone.mov", {
        "creation_time": "2026-12-01T10:00:00.000000Z", "com.apple.quicktime.creationdate": "2026-11-29T08:30:00+0100"})
    assert probe_video(mov).filmed_at == datetime(2026, 11, 29, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize("tags, expected", [
    ({"creation_time": "2026-11-30 14:02:11"}, datetime(2026, 11, 30, 14, 2, 11, tzinfo=UTC)),  # no zone: UTC
    ({"creation_time": "1904-01-01T00:00:00.000000Z"}, None),  # a QuickTime clock never set
    ({"creation_time": "1970-01-01T00:00:00Z"}, None),
    ({"creation_time": "2027-03-01T00:00:00Z"}, None),  # after "now": a wrong clock
    ({"creation_time": "yesterday"}, None),
    ({"com.apple.quicktime.creationdate": "garbage", "creation_time": "2026-11-30T14:02:11Z"},
     datetime(2026, 11, 30, 14, 2, 11, tzinfo=UTC)),
    ({}, None),
])
def test_a_filming_time_that_cannot_be_true_is_not_used(tags, expected):
    assert filmed_at(tags, now=datetime(2026, 12, 4, 12, 0, tzinfo=UTC)) == expected


@pytest.mark.parametrize("threaded", [True, False])
def test_decode_every_frame_with_downscale(threaded):
    reader = VideoReader(CLIP, max_side=320, threaded=threaded)
    frames = list(reader)
    assert len(frames) == 230 == reader.frames_read
    assert not reader.damaged
    idx = [f.index for f in frames]
    assert idx == list(range(230))
    times = np.array([f.time_s for f in frames])
    assert times[0] == 0.0
    np.testing.assert_allclose(np.diff(times), 1 / 30, atol=1e-3)
    rgb = frames[100].rgb
    assert rgb.shape == (320, 320, 3) and rgb.dtype == np.uint8
    # an outdoor scene: a real picture, not a blank frame
    assert rgb.std() > 20


def test_frame_step_and_threaded_equals_plain():
    a = [(i, t, f.copy()) for i, t, f in VideoReader(CLIP, max_side=160, step=7)]
    b = [(i, t, f.copy()) for i, t, f in VideoReader(CLIP, max_side=160, step=7, threaded=False)]
    assert [x[0] for x in a] == list(range(0, 230, 7))
    assert len(a) == len(b) == VideoReader(CLIP, step=7).expected_frames
    for (ia, ta, fa), (ib, tb, fb) in zip(a, b):
        assert ia == ib and ta == pytest.approx(tb)
        np.testing.assert_array_equal(fa, fb)


def test_consumer_can_stop_early():
    it = iter_frames(CLIP, max_side=160)
    first = next(it)
    it.close()  # must not hang on the background decoder
    assert first.index == 0


@pytest.mark.parametrize("rotation", [90, -90])
def test_portrait_phone_clip_comes_out_upright(tmp_path, rotation):
    upright = [f.rgb[:, 120:600] for f in VideoReader(CLIP, max_side=None, threaded=False) if f.index < 12]
    assert upright[0].shape == (720, 480, 3)  # portrait
    clip = write_phone_clip(tmp_path / "portrait.mp4", upright, rotation=rotation)
    info = probe_video(clip)
    assert (info.width, info.height, info.rotation) == (720, 480, rotation % 360)  # stored landscape
    frames = list(VideoReader(clip, max_side=None))
    assert len(frames) == 12 and frames[5].rgb.shape == (720, 480, 3)
    # the picture itself is upright (H.264 is lossy), not merely the right shape
    assert np.abs(frames[5].rgb.astype(int) - upright[5]).mean() < 8
    assert np.abs(frames[5].rgb.astype(int) - upright[5][::-1, ::-1]).mean() > 30
    assert np.abs(read_frame(clip, 5, max_side=None).astype(int) - upright[5]).mean() < 8


def _disc(height: int, width: int, radius: int) -> np.ndarray:
    yy, xx = np.mgrid[:height, :width]
    img = np.zeros((height, width, 3), np.uint8)
    img[(xx - width / 2) ** 2 + (yy - height / 2) ** 2 < radius**2] = 255
    return img


def _extent(mask: np.ndarray, axis: int) -> int:
    return int(np.flatnonzero(mask.any(axis=axis)).ptp()) + 1


@pytest.mark.parametrize("pixel_aspect", [Fraction(4, 3), Fraction(8, 9)])
def test_non_square_pixels_come_out_square(tmp_path, pixel_aspect):
    """A camcorder clip stores 4:3 (HDV) or 8:9 (DV NTSC) pixels: a disc must come out round,
    else every angle with a horizontal part is measured on a stretched body."""
    clip = write_anamorphic_clip(tmp_path / "dv.mp4", [_disc(480, 640, 150)] * 4, pixel_aspect)
    info = probe_video(clip)
    assert info.width == round(640 / pixel_aspect / 2) * 2 and info.pixel_aspect == float(pixel_aspect)
    reader = VideoReader(clip, max_side=None)
    assert reader.output_size == (640, 480)
    for rgb in [next(iter(reader)).rgb, read_frame(clip, 2, max_side=None)]:
        disc = rgb.mean(axis=2) > 128
        assert abs(_extent(disc, 0) - _extent(disc, 1)) <= 4, (_extent(disc, 0), _extent(disc, 1))
    assert VideoReader(clip, max_side=320).output_size == (320, 240)


def test_interlaced_frames_come_out_as_one_picture(tmp_path):
    """A 1080i camcorder weaves two fields filmed 1/50 s apart into each frame: a moving disc is
    there twice, combed, on alternate lines. Deinterlaced, it is one disc where the first field
    saw it, as wide as it is tall."""
    fields = [np.roll(_disc(480, 640, 60), 40 * k - 160, axis=1) for k in range(8)]
    clip = write_interlaced_clip(tmp_path / "1080i.mp4", fields)
    assert probe_video(clip).interlaced and not probe_video(CLIP).interlaced
    frames = list(VideoReader(clip, max_side=None))
    assert len(frames) == 4
    for k, rgb in [(f.index, f.rgb) for f in frames] + [(2, read_frame(clip, 2, max_side=None))]:
        disc = rgb.mean(axis=2) > 128
        assert abs(_extent(disc, 0) - _extent(disc, 1)) <= 6, (k, _extent(disc, 0), _extent(disc, 1))
        first_field = fields[2 * k].mean(axis=2) > 128
        centre = np.flatnonzero(disc.any(axis=0)).mean()
        assert abs(centre - np.flatnonzero(first_field.any(axis=0)).mean()) <= 3


def _greys() -> list[np.ndarray]:
    """Ten 320x240 frames, each a flat grey of 20 * its index, so a test can tell them apart."""
    return [np.full((240, 320, 3), 20 * i, np.uint8) for i in range(10)]


@pytest.mark.parametrize("ext", VIDEO_EXTENSIONS)
def test_every_offered_file_type_is_read(tmp_path, ext):
    """The upload page offers these types: a clip stored in each container is read whole."""
    codec = {"webm": "libvpx-vp9", "mpg": "mpeg2video"}.get(ext, "libx264")
    path = write_clip(tmp_path / f"clip.{ext}", _greys(), 25, codec=codec)
    info = probe_video(path)
    assert (info.width, info.height, info.fps) == (320, 240, 25.0)
    frames = list(VideoReader(path, max_side=None))
    assert len(frames) == 10 and frames[0].time_s == 0.0
    assert 0.3 < frames[-1].time_s < 0.45
    assert abs(frames[5].rgb.mean() - 100) < 6  # the sixth frame, not a repeat of another


def test_read_frame_matches_sequential_decode():
    seq = {i: f for i, _, f in VideoReader(CLIP, max_side=200, threaded=False) if i in (0, 61, 150)}
    for i, f in seq.items():
        np.testing.assert_array_equal(read_frame(CLIP, i, max_side=200), f)


def test_read_frame_by_time_matches_the_frame_of_that_time():
    """The report shows the frame of a pose by its time: analysed one frame in N (slow motion),
    pose index and frame index differ."""
    seq = [f for f in VideoReader(CLIP, max_side=200, step=4, threaded=False) if f.index in (0, 60, 148)]
    assert len(seq) == 3
    for f in seq:
        np.testing.assert_array_equal(read_frame(CLIP, time_s=f.time_s, max_side=200), f.rgb)
    with pytest.raises(ValueError):
        read_frame(CLIP, 3, time_s=0.1)


def test_the_frame_of_a_time_in_mpeg_ts_and_in_recordings_joined_is_that_frame(tmp_path):
    """The frame scrubber reads the frame of a pose by its time. An MPEG-TS seek (by bytes) landed
    two frames after it; in two recordings joined into one file, a time of the second recording
    was no frame at all ("This frame cannot be shown") or, where the first recording has the same
    time, the first recording's frame."""
    frames = [np.full((48, 64, 3), v, np.uint8) for v in range(0, 240, 3)]  # each frame its own grey
    one = write_clip(tmp_path / "one.ts", frames, codec="mpeg2video")
    two = write_clip(tmp_path / "two.ts", frames[::-1], codec="mpeg2video")
    joined = tmp_path / "joined.ts"
    joined.write_bytes(one.read_bytes() + two.read_bytes())
    for path in (one, joined):
        seq = list(VideoReader(path, threaded=False))
        for f in seq[::7]:
            assert np.abs(read_frame(path, time_s=f.time_s).astype(int) - f.rgb).mean() < 1.5, (path.name, f.index)
    assert len(seq) == 160 and seq[100].rgb.mean() > 130  # the second recording's 20th frame, bright


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        probe_video(ROOT / "tests" / "data" / "nope.mp4")


def test_text_file_is_not_a_video(tmp_path):
    p = tmp_path / "notes.mp4"
    p.write_text("these are a physiotherapist's notes, not a video\n" * 50)
    with pytest.raises(NotAVideoError) as exc:
        probe_video(p)
    assert "notes.mp4" in str(exc.value)
    assert isinstance(exc.value, VideoError)


def test_random_bytes_are_not_a_video(tmp_path):
    p = tmp_path / "noise.avi"
    p.write_bytes(np.random.default_rng(0).integers(0, 256, 200_000, dtype=np.uint8).tobytes())
    with pytest.raises(NotAVideoError):
        list(VideoReader(p))


def test_empty_file(tmp_path):
    p = tmp_path / "empty.webm"
    p.touch()
    with pytest.raises(NotAVideoError):
        probe_video(p)


def test_truncated_clip_reads_what_survived(tmp_path):
    """A clip cut after a third of its bytes (as an interrupted upload would be).

    The test clip has its header first (+faststart), so it opens and the frames whose bytes
    survived decode; the reader reports fewer frames than the header promised.
    """
    data = CLIP.read_bytes()
    p = tmp_path / "cut.mp4"
    p.write_bytes(data[: len(data) // 3])
    reader = VideoReader(p, max_side=160)
    frames = list(reader)
    assert 0 < len(frames) < reader.expected_frames == 230


def test_two_recordings_joined_in_one_file_keep_their_order_in_time(tmp_path):
    """Two MPEG-TS recordings pasted into one file (as a camcorder's or a screen recorder's are
    joined): the second starts at time 0 again. Its frames were read with the first's times, so
    a session's times went back (and its JSON export was refused on import). They now follow the
    first recording's last frame, one frame apart, in the order the file holds them."""
    def grey(levels):
        return [np.full((64, 64, 3), v, np.uint8) for v in levels]

    first = write_clip(tmp_path / "a.ts", grey(range(20, 80, 2)), codec="mpeg2video")
    second = write_clip(tmp_path / "b.ts", grey(range(140, 200, 2)), codec="mpeg2video")
    joined = tmp_path / "joined.ts"
    joined.write_bytes(first.read_bytes() + second.read_bytes())
    frames = list(VideoReader(joined, threaded=False))
    times = np.array([f.time_s for f in frames])
    assert len(frames) == 60
    assert (np.diff(times) > 0).all()
    assert np.allclose(np.diff(times), 1 / 30, atol=1e-6)  # the join is one frame, not a pause or a step back
    brightness = [float(f.rgb.mean()) for f in frames]
    assert brightness[29] < 100 < brightness[30]  # the first recording's frames, then the second's
    # one in two frames: the same times as every frame read
    assert [f.time_s for f in VideoReader(joined, step=2)] == pytest.approx(times[::2].tolist())


def test_header_destroyed_is_refused(tmp_path):
    data = bytearray(CLIP.read_bytes())
    data[:4096] = bytes(4096)
    p = tmp_path / "broken.mp4"
    p.write_bytes(bytes(data))
    with pytest.raises(NotAVideoError):
        list(VideoReader(p))


def _add_cover_art(out: av.container.OutputContainer, attached: bool) -> av.video.stream.VideoStream:
    """A still picture stored as its own video stream, as players keep album or cover art."""
    cover = out.add_stream("mjpeg", rate=1)
    cover.width, cover.height, cover.pix_fmt = 160, 120, "yuvj420p"
    if attached:
        cover.disposition = av.stream.Disposition.attached_pic
    return cover


def _write_cover_art(out: av.container.OutputContainer, cover: av.video.stream.VideoStream) -> None:
    still = av.VideoFrame.from_ndarray(np.full((120, 160, 3), 200, np.uint8), format="rgb24")
    for packet in cover.encode(still.reformat(format="yuvj420p")):
        out.mux(packet)
    for packet in cover.encode():
        out.mux(packet)


def test_cover_art_listed_first_is_passed_over(tmp_path):
    """An mkv may list a still (cover, thumbnail) before the recording: the recording is read."""
    path = tmp_path / "with_cover.mkv"
    with av.open(str(path), "w") as out:
        cover = _add_cover_art(out, attached=False)
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        _write_cover_art(out, cover)
        for grey in _greys():
            for packet in stream.encode(av.VideoFrame.from_ndarray(grey, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    assert av.open(str(path)).streams.video[0].codec_context.name == "mjpeg"
    info = probe_video(path)
    assert (info.codec, info.width, info.height, info.fps) == ("h264", 320, 240, 25.0)
    assert len(list(VideoReader(path, max_side=None))) == 10
    assert abs(read_frame(path, 5, max_side=None).mean() - 100) < 6


@pytest.mark.parametrize("cover", [False, True], ids=["plain", "with-cover-art"])
def test_audio_only_file_has_no_video_stream(tmp_path, cover):
    p = tmp_path / "voice.mp4"
    with av.open(str(p), "w") as out:
        art = _add_cover_art(out, attached=True) if cover else None
        st = out.add_stream("aac", rate=16000)
        st.layout = "mono"
        if art is not None:
            _write_cover_art(out, art)
        t = np.arange(16000) / 16000
        samples = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = 16000
        for pkt in st.encode(frame):
            out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    with pytest.raises(NoVideoStreamError):
        probe_video(p)


def test_huge_sparse_file_refused_before_reading(tmp_path):
    p = tmp_path / "huge.mp4"
    # a 2 GB sparse file: takes no disk, and must be refused from its size alone
    subprocess.run(["truncate", "-s", "2G", str(p)], check=True)
    with pytest.raises(VideoTooLargeError) as exc:
        VideoReader(p, settings=Settings(max_upload_mb=1024))
    assert "2,048 MB" in str(exc.value) and "1024 MB" in str(exc.value)


def test_small_limit_refuses_real_clip():
    with pytest.raises(VideoTooLargeError):
        probe_video(CLIP, Settings(max_upload_mb=0))


def test_too_long(tmp_path):
    # 3 s of tiny frames against a 2 s limit
    p = tmp_path / "long.mp4"
    with av.open(str(p), "w") as out:
        st = out.add_stream("mpeg4", rate=10)
        st.width, st.height, st.pix_fmt = 64, 48, "yuv420p"
        for i in range(30):
            f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 8, np.uint8), format="rgb24")
            f.pts, f.time_base = i, Fraction(1, 10)
            for pkt in st.encode(f):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    with pytest.raises(VideoTooLongError):
        probe_video(p, Settings(max_video_s=2.0))
    assert probe_video(p).frame_count == 30


def test_a_browser_recording_without_a_duration_is_measured(tmp_path):
    """A browser's recording (MediaRecorder, as web and screen recorders save WebM) is written as
    it streams, so its header gives no duration and no frame count: the length limit let it
    through whatever its length, and the analysis ran without a progress bar, on one core. The
    probe now counts its packets."""
    class Stream(io.RawIOBase):  # a pipe: the muxer cannot go back to write the duration
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, b) -> int:
            self.data += bytes(b)
            return len(b)

    sink = Stream()
    with av.open(sink, "w", format="webm") as out:
        st = out.add_stream("libvpx", rate=10)
        st.width, st.height, st.pix_fmt = 64, 48, "yuv420p"
        for i in range(30):
            for pkt in st.encode(av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 8, np.uint8), format="rgb24")):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    p = tmp_path / "recording.webm"
    p.write_bytes(bytes(sink.data))
    with av.open(str(p)) as c:
        assert c.duration is None and not c.streams.video[0].frames  # as a browser writes it
    info = probe_video(p)
    assert info.frame_count == 30 and info.duration_s == pytest.approx(3.0, abs=0.15)
    assert len(list(VideoReader(p))) == 30
    with pytest.raises(VideoTooLongError):
        probe_video(p, Settings(max_video_s=2.0))


def test_write_y4m(tmp_path):
    dst = write_y4m(CLIP, tmp_path / "clip.y4m", max_side=320, max_frames=12)
    raw = dst.read_bytes()
    header, _, body = raw.partition(b"\n")
    assert header.split()[:4] == [b"YUV4MPEG2", b"W320", b"H320", b"F30:1"]
    frame_bytes = len(b"FRAME\n") + 320 * 320 * 3 // 2
    assert len(body) == 12 * frame_bytes
    # PyAV reads it back: a real picture, the same size
    with av.open(str(dst)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == 12 and frames[0].shape == (320, 320, 3) and frames[0].std() > 20


def test_make_y4m_script(tmp_path):
    out = tmp_path / "cam.y4m"
    r = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_y4m.py"), "--max-frames", "3", "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    assert out.read_bytes().startswith(b"YUV4MPEG2 W640 H640 F30:1")
