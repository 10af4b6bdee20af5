"""Wrist-IMU readers on the real MetaMotion recordings: file pairs, generic CSV, payloads."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from physio_core.imu import ImuFormatError, ImuSeries, list_sets, read_imu_csv, read_metamotion, write_imu_csv
from physio_core.imu.io import parse_set_name

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "metamotion-imu"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"MetaMotion data set not found at {DATA}")


@pytest.fixture(scope="module")
def sets():
    return list_sets(DATA)


def _by_label(sets, label):
    return next(s for s in sets if s.label == label)


def test_list_sets_parses_labels_from_names(sets):
    assert {s.participant for s in sets} == {"A", "B", "C", "E"}
    assert {s.lift for s in sets} == {"bench", "squat", "dead", "ohp", "row", "rest"}
    s = _by_label(sets, "A-bench-heavy2-rpe8")
    assert (s.lift, s.category, s.set_number, s.rpe, s.expected_reps) == ("bench", "heavy", 2, 8, 5)
    assert s.gyr_path is not None and "Gyroscope" in s.gyr_path.name
    assert s.acc_path.name.split("_Accelerometer_")[0] == s.gyr_path.name.split("_Gyroscope_")[0]
    for s in sets:
        assert s.expected_reps == {"heavy": 5, "medium": 10, "standing": 0, "sitting": 0}[s.category]
        assert (s.expected_reps == 0) == (s.lift == "rest")


def test_list_sets_keeps_each_recording_once(sets):
    everything = list_sets(DATA, dedupe=False)
    assert len(everything) == len(list(DATA.glob("*Accelerometer*.csv")))
    assert len(sets) < len(everything)
    fingerprints = {}
    for s in everything:
        acc = pd.read_csv(s.acc_path).iloc[:, 3:6].to_numpy()
        fingerprints.setdefault(np.round(acc * 1000).astype(np.int64).tobytes(), []).append(s)
    # one kept set per distinct recording, and it is the first copy (A before E, 1.4.4 first)
    assert len(fingerprints) == len(sets)
    kept = {s.acc_path for s in sets}
    for copies in fingerprints.values():
        assert sum(c.acc_path in kept for c in copies) == 1
        assert copies[0].acc_path in kept


def test_parse_set_name_rejects_other_files():
    assert parse_set_name("README.md") is None
    assert parse_set_name("notes.csv") is None


def test_metamotion_pair_is_one_uniform_series(sets):
    for s in sets:
        x = s.load()
        assert x.gyr is not None and x.acc.shape == x.gyr.shape == (len(x), 3)
        assert np.allclose(np.diff(x.times), 0.04, atol=1e-9)
        # the wrist sensor measures gravity: about 1 g on average in every set
        assert 0.9 < np.linalg.norm(x.acc, axis=1).mean() < 1.1, s.label
        raw_a, raw_g = pd.read_csv(s.acc_path), pd.read_csv(s.gyr_path)
        start = max(raw_a["epoch (ms)"].iloc[0], raw_g["epoch (ms)"].iloc[0])
        end = min(raw_a["epoch (ms)"].iloc[-1], raw_g["epoch (ms)"].iloc[-1])
        assert abs(x.duration_s - (end - start) / 1000.0) < 0.04
        assert x.meta["lift"] == s.lift and x.meta["expected_reps"] == s.expected_reps


def test_metamotion_values_follow_the_raw_samples(sets):
    s = _by_label(sets, "B-ohp-heavy1-rpe8")
    x = s.load()
    raw_g = pd.read_csv(s.gyr_path)
    raw_a = pd.read_csv(s.acc_path)
    t0 = max(raw_a["epoch (ms)"].iloc[0], raw_g["epoch (ms)"].iloc[0])
    tg = (raw_g["epoch (ms)"].to_numpy() - t0) / 1000.0
    inside = (tg >= 0) & (tg <= x.times[-1])
    # read back at the sensors' own (jittery) sample times, the series follows the raw samples
    back = np.stack([np.interp(tg[inside], x.times, x.gyr[:, k]) for k in range(3)], axis=1)
    raw = raw_g.iloc[:, 3:6].to_numpy()[inside]
    for k in range(3):
        assert np.corrcoef(back[:, k], raw[:, k])[0, 1] > 0.99
    assert np.median(np.abs(back - raw)) < 0.1 * raw.std()
    ta = (raw_a["epoch (ms)"].to_numpy() - t0) / 1000.0
    ok = (ta >= 0) & (ta <= x.times[-1])
    back_a = np.stack([np.interp(ta[ok], x.times, x.acc[:, k]) for k in range(3)], axis=1)
    assert np.max(np.abs(back_a - raw_a.iloc[:, 3:6].to_numpy()[ok])) < 0.02  # g


def test_generic_csv_round_trip(sets, tmp_path):
    x = _by_label(sets, "C-row-medium").load()
    path = tmp_path / "set.csv"
    write_imu_csv(x, path)
    header = path.read_text().splitlines()[0]
    assert header == "time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z"
    y = read_imu_csv(path)
    assert y.meta["format"] == "generic"
    assert np.allclose(y.times, x.times, atol=1e-6)
    assert np.allclose(y.acc, x.acc, atol=1e-5) and np.allclose(y.gyr, x.gyr, atol=1e-3)
    # the same bytes as an upload
    z = read_imu_csv(path.read_bytes(), name="upload.csv")
    assert np.array_equal(z.acc, y.acc)


def test_a_long_recording_exports_as_it_is_stored(sets):
    """Three hours at 50 Hz (the data set's sets one after another, again and again), stored as a
    session stores it, exported as its page offers it ("Sensor data (CSV)") and read back: every
    sample, at the times and with the values stored. Six significant digits wrote 10000.02 s as
    10000 s, and the rows whose times came out the same were dropped as repeats."""
    from physio_core import exports

    rate = 50.0
    parts = [s.load().resample(rate) for s in sets]
    times, acc, gyr, start = [], [], [], 0.0
    while start < 3 * 3600:
        for p in parts:
            times.append(start + p.times)
            acc.append(p.acc)
            gyr.append(p.gyr)
            start += p.times[-1] + 1 / rate
    recording = ImuSeries(np.concatenate(times), np.concatenate(acc), np.concatenate(gyr), {"source": "long.csv"})
    stored = ImuSeries.from_json_payload(json.loads(json.dumps(recording.to_json_payload())))
    assert stored.times[-1] > 10_800 and np.abs(stored.gyr).max() > 100  # deg/s of 7 digits and more

    csv = next(e for e in exports.imu_session_exports(stored, None, stem="set") if e.mime == "text/csv")
    back = read_imu_csv(csv.build(), name=csv.file_name)
    assert len(back) == len(stored)
    np.testing.assert_array_equal(back.times, stored.times)
    np.testing.assert_array_equal(back.acc, stored.acc)
    np.testing.assert_array_equal(back.gyr, stored.gyr)
    assert back.rate_hz == pytest.approx(rate)


@pytest.mark.parametrize("sep", [";", "\t"])
def test_generic_csv_from_a_european_spreadsheet(sets, tmp_path, sep):
    """';' or tabs between columns and a decimal comma, as spreadsheets in much of Europe save."""
    x = _by_label(sets, "C-row-medium").load()
    path = tmp_path / "set.csv"
    write_imu_csv(x, path)
    comma = read_imu_csv(path)
    lines = path.read_text().splitlines()
    euro = "\n".join(line.replace(",", sep).replace(".", ",") for line in lines)
    assert euro.splitlines()[2].count(",") == 7  # decimal commas in every value of a data row
    y = read_imu_csv(euro.encode("utf-8-sig"), name="export.csv")  # Excel also adds a BOM
    assert np.array_equal(y.times, comma.times)
    assert np.array_equal(y.acc, comma.acc) and np.array_equal(y.gyr, comma.gyr)


def test_generic_csv_without_gyroscope(sets):
    x = _by_label(sets, "C-row-medium").load()
    text = "time_s,acc_x,acc_y,acc_z\n" + "\n".join(
        f"{t:.3f},{a:.4f},{b:.4f},{c:.4f}" for t, (a, b, c) in zip(x.times, x.acc)
    )
    y = read_imu_csv(io.StringIO(text))
    assert y.gyr is None and y.acc.shape == x.acc.shape
    assert abs(y.rate_hz - 25.0) < 1e-6


@pytest.mark.parametrize(
    "text, missing",
    [
        ("t,ax,ay,az\n0,0,0,1\n0.1,0,0,1\n", "time_s, acc_x, acc_y, acc_z"),
        ("time_s,acc_x,acc_y\n0,0,0\n0.1,0,0\n", "acc_z"),
        ("", "time_s"),
    ],
)
def test_wrong_columns_raise_format_error(text, missing):
    with pytest.raises(ImuFormatError) as err:
        read_imu_csv(io.StringIO(text), name="bad.csv")
    msg = str(err.value)
    assert missing in msg
    assert "expected columns time_s, acc_x, acc_y, acc_z" in msg and "gyr_x" in msg


def test_partial_gyroscope_and_bad_values_raise():
    with pytest.raises(ImuFormatError, match="gyr_x, gyr_y, gyr_z"):
        read_imu_csv(io.StringIO("time_s,acc_x,acc_y,acc_z,gyr_x\n0,0,0,1,3\n0.1,0,0,1,3\n"))
    with pytest.raises(ImuFormatError, match="acc_y .* row 2"):
        read_imu_csv(io.StringIO("time_s,acc_x,acc_y,acc_z\n0,0,0,1\n0.1,0,abc,1\n"))
    with pytest.raises(ImuFormatError, match="at least 2 samples"):
        read_imu_csv(io.StringIO("time_s,acc_x,acc_y,acc_z\n0,0,0,1\n"))


def test_wrong_units_are_named(sets):
    x = _by_label(sets, "C-row-medium").load()
    ms = "time_s,acc_x,acc_y,acc_z\n" + "\n".join(
        f"{t * 1000:.0f},{a},{b},{c}" for t, (a, b, c) in zip(x.times, x.acc))
    with pytest.raises(ImuFormatError, match="seconds"):
        read_imu_csv(io.StringIO(ms))
    si = "time_s,acc_x,acc_y,acc_z\n" + "\n".join(
        f"{t},{a * 9.81},{b * 9.81},{c * 9.81}" for t, (a, b, c) in zip(x.times, x.acc))
    with pytest.raises(ImuFormatError, match="in g"):
        read_imu_csv(io.StringIO(si))


def test_single_metamotion_accelerometer_file_reads(sets):
    s = _by_label(sets, "A-squat-medium2-rpe8")
    y = read_imu_csv(s.acc_path)
    raw = pd.read_csv(s.acc_path)
    assert y.gyr is None and len(y) == len(raw)
    assert np.allclose(y.acc, raw.iloc[:, 3:6].to_numpy())
    assert abs(y.rate_hz - 12.5) < 0.1


def test_metamotion_pair_that_does_not_overlap(sets):
    a, b = sets[0], sets[-1]
    with pytest.raises(ImuFormatError, match="do not overlap"):
        read_metamotion(a.acc_path, b.gyr_path)


def _rows_shifted(x: ImuSeries, rows: slice, by_s: float) -> str:
    t = x.times.copy()
    t[rows] += by_s
    return "time_s,acc_x,acc_y,acc_z\n" + "\n".join(f"{a:.3f},{b},{c},{d}" for a, (b, c, d) in zip(t, x.acc))


def test_two_recordings_in_one_file_are_refused_not_interleaved(sets):
    """A file whose time goes back by seconds holds two recordings: sorted together, their samples
    interleaved into a signal nobody made, analysed without a word. Rows a few samples late (a
    sensor's packets can come out of order) and a file written newest first still read."""
    x = _by_label(sets, "C-row-medium").load()
    with pytest.raises(ImuFormatError, match=r"two.csv: time_s goes back 1.96 s at data row 101; are two recordings"):
        read_imu_csv(io.StringIO(_rows_shifted(x, slice(100, 200), -2.0)), name="two.csv")
    lines = _rows_shifted(x, slice(0, 0), 0.0).splitlines()
    in_order = read_imu_csv(io.StringIO("\n".join(lines)))
    late = lines[:101] + lines[103:106] + lines[101:103] + lines[106:]  # two rows three samples late
    newest_first = lines[:1] + lines[:0:-1]
    for text in (late, newest_first):
        y = read_imu_csv(io.StringIO("\n".join(text)))
        assert np.array_equal(y.times, in_order.times) and np.array_equal(y.acc, in_order.acc)
    # a MetaMotion pair's file is checked alike, in its own milliseconds
    s = _by_label(sets, "C-row-medium")
    raw = pd.read_csv(s.acc_path)
    raw.loc[100:199, "epoch (ms)"] -= 3000
    with pytest.raises(ImuFormatError, match=r"acc.csv: epoch \(ms\) goes back 2.92 s at data row 101"):
        read_metamotion(raw.to_csv(index=False).encode(), s.gyr_path.read_bytes(), acc_name="acc.csv")


def test_a_metamotion_pair_from_a_european_spreadsheet(sets):
    """A MetaMotion pair opened and saved again in a spreadsheet that writes ';' and decimal
    commas: read as the files were, as files and as an upload (which tells the two apart by
    their headers). Only a lone accelerometer file was read so before."""
    from physio_core.imu.io import read_upload

    s = _by_label(sets, "C-row-medium")

    def euro(path: Path) -> bytes:
        return "\n".join(line.replace(",", ";").replace(".", ",")
                         for line in path.read_text().splitlines()).encode("utf-8-sig")

    want = read_metamotion(s.acc_path, s.gyr_path)
    got = read_metamotion(euro(s.acc_path), euro(s.gyr_path), acc_name="a.csv", gyr_name="g.csv")
    assert np.array_equal(got.times, want.times)
    assert np.array_equal(got.acc, want.acc) and np.array_equal(got.gyr, want.gyr)
    uploaded = read_upload([("g.csv", euro(s.gyr_path)), ("a.csv", euro(s.acc_path))])
    assert np.array_equal(uploaded.acc, want.acc) and np.array_equal(uploaded.gyr, want.gyr)


def test_json_payload_round_trip(sets):
    x = _by_label(sets, "E-bench-medium").load()
    payload = x.to_json_payload()
    text = json.dumps(payload)  # JSON-able as it is
    assert set(payload) == {"v", "meta", "series"}  # the store's codec layout
    assert payload["meta"]["units"] == {"time": "s", "acc": "g", "gyr": "deg/s"}
    assert payload["meta"]["lift"] == "bench"
    assert len(payload["series"]["times"]) == len(payload["series"]["acc"]) == len(x)
    y = ImuSeries.from_json_payload(json.loads(text))
    assert np.allclose(y.acc, x.acc, atol=1e-4) and np.allclose(y.gyr, x.gyr, atol=1e-4)
    assert np.allclose(y.times, x.times, atol=1e-6)
    assert y.meta["label"] == "E-bench-medium"
    no_gyr = ImuSeries(x.times, x.acc, None, {}).to_json_payload()
    assert "gyr" not in no_gyr["series"] and ImuSeries.from_json_payload(no_gyr).gyr is None
    with pytest.raises(ImuFormatError):
        ImuSeries.from_json_payload({"v": 1, "meta": {"format": "something else"}, "series": {}})


def test_json_payload_chunks_concatenate(sets):
    """A live recording stored in chunks: the store's merge gives back the whole set."""
    x = _by_label(sets, "C-dead-medium").load()
    cut = len(x) // 3
    parts = [ImuSeries(x.times[a:b], x.acc[a:b], x.gyr[a:b], dict(x.meta)).to_json_payload()
             for a, b in ((0, cut), (cut, len(x)))]
    assert parts[0]["meta"] == parts[1]["meta"]
    from physio_core.store import codec  # the storage layer's own merge of live chunks

    y = ImuSeries.from_json_payload(codec.merge(parts))
    assert np.allclose(y.acc, x.acc, atol=1e-4) and np.allclose(y.times, x.times, atol=1e-6)
