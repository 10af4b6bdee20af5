"""Compact layout of the per-frame series kept in ``sensor_data.payload`` (a JSON column).

Every payload is ``{"v": 2, "meta": {...}, "series": {key: ..., ...}}``: ``meta`` holds what is
constant over the session (fps, angle names), ``series`` holds per-frame rows. Live chunks of one
kind are merged by concatenating their series key by key.

Numbers are rounded to what the sources can resolve (1 mm, 0.01 deg, 0.1 ms, 0.1 px). The pose
and angle series are stored packed (:func:`pack`): the rounded numbers as integers in those units,
zlib-compressed and base64-encoded, NaN as the integer type's minimum. Parsing them as JSON lists
took most of the time of opening a long session; packed, they are a quarter of the size and decode
to exactly the values the lists held. Other series (reps, IMU, assessments) stay plain lists,
NaN written as null. Version 1 payloads held every series as lists; they still decode (migration
0003 packs the stored ones).
"""

from __future__ import annotations

import base64
import dataclasses
import zlib
from typing import Any

import numpy as np

from physio_core.kinematics import FULLY_MEASURED, robust_range
from physio_core.results import AngleSeries, Rep
from physio_core.skeleton import N_JOINTS, PoseSequence

FORMAT_VERSION = 2
POSE_DECIMALS = 3  # metres -> 1 mm
CONFIDENCE_DECIMALS = 3
ANGLE_DECIMALS = 2  # degrees
TIME_DECIMALS = 4  # seconds
PIXEL_DECIMALS = 1

KIND_POSE = "pose3d"
KIND_ANGLES = "angles"
KIND_REPS = "reps"
KIND_ASSESSMENT = "assessment"  # the models' exercise label, timeline and per-rep verdicts
KIND_CORRECTED = "corrected_pose"  # the models' corrected pose of every assessed rep
KIND_IMU = "imu"  # a wrist-IMU set's raw series (ImuSeries.to_json_payload)
KIND_IMU_ANALYSIS = "imu_analysis"  # what the IMU path found in it (ImuSetResult.to_dict)
KIND_VIDEO = "video"  # a live session's recorded raw video ("Record video"): series {"path": [file]}
# where an imported session came from (physio_core.imports): series {"imported_at", "file", ...}
KIND_IMPORTED = "imported"


def to_list(a: np.ndarray, decimals: int) -> list:
    """Round and turn into nested lists, NaN/inf -> None: a series as version 1 stored it, which
    ``from_list`` reads. The app no longer writes it (the tests build version-1 payloads and
    reference JSON with it)."""
    r = np.round(np.asarray(a, dtype=np.float64), decimals)
    out = r.astype(object)
    out[~np.isfinite(r)] = None
    return out.tolist()


def from_list(values: list, tail: tuple[int, ...] = ()) -> np.ndarray:
    """Nested lists with None -> float array of shape (T, *tail), None -> NaN."""
    return _shaped(np.array(values, dtype=np.float64), tail)


def _shaped(a: np.ndarray, tail: tuple[int, ...]) -> np.ndarray:
    return a.reshape((-1, *tail)) if tail or a.size == 0 else a


def pack(a: np.ndarray, decimals: int) -> dict[str, Any]:
    """Round to ``decimals``, store as integers of 10**-decimals (zlib + base64); NaN/inf -> missing.

    ``unpack(pack(a, d))`` equals ``from_list(to_list(a, d))`` bit for bit: both are
    ``rint(a * 10**d) / 10**d``.
    """
    r = np.round(np.asarray(a, dtype=np.float64), decimals)
    finite = np.isfinite(r)
    q = np.rint(np.where(finite, r, 0.0) * 10.0**decimals)
    dtype = "<i4" if np.abs(q).max(initial=0.0) < 2**31 - 1 else "<i8"
    ints = q.astype(dtype)
    ints[~finite] = np.iinfo(dtype).min
    return {"decimals": decimals, "dtype": dtype, "shape": list(ints.shape),
            "zlib": base64.b64encode(zlib.compress(ints.tobytes(), 1)).decode("ascii")}


def unpack(packed: dict[str, Any]) -> np.ndarray:
    """The float array a :func:`pack` holds, missing values as NaN."""
    dtype = np.dtype(packed["dtype"])
    ints = np.frombuffer(zlib.decompress(base64.b64decode(packed["zlib"])), dtype)
    out = ints / 10.0 ** packed["decimals"]
    out[ints == np.iinfo(dtype).min] = np.nan
    return out.reshape(packed["shape"])


def is_packed(value: Any) -> bool:
    return isinstance(value, dict) and "zlib" in value


def series_array(value: list | dict[str, Any], tail: tuple[int, ...] = ()) -> np.ndarray:
    """A stored series (packed, or a version-1 list) as a float array of shape (T, *tail)."""
    return _shaped(unpack(value), tail) if is_packed(value) else from_list(value, tail)


def payload(meta: dict[str, Any], series: dict[str, Any]) -> dict[str, Any]:
    return {"v": FORMAT_VERSION, "meta": meta, "series": series}


def encode_pose(seq: PoseSequence) -> dict[str, Any]:
    t = len(seq)
    series = {
        "times": pack(seq.times, TIME_DECIMALS),
        "joints": pack(seq.joints.reshape(t, N_JOINTS * 3), POSE_DECIMALS),
        "confidence": pack(seq.confidence, CONFIDENCE_DECIMALS),
        "root": pack(seq.root.reshape(t, 3), POSE_DECIMALS),
    }
    if seq.keypoints_2d is not None and np.isfinite(seq.keypoints_2d).any():
        series["keypoints_2d"] = pack(seq.keypoints_2d.reshape(t, N_JOINTS * 2), PIXEL_DECIMALS)
    return payload({"fps": float(seq.fps), "n_joints": N_JOINTS}, series)


def decode_pose(doc: dict[str, Any]) -> PoseSequence:
    s = doc["series"]
    joints = series_array(s["joints"], (N_JOINTS, 3))
    kp = series_array(s["keypoints_2d"], (N_JOINTS, 2)) if "keypoints_2d" in s else None
    return PoseSequence(
        joints,
        series_array(s["confidence"], (N_JOINTS,)),
        series_array(s["times"]),
        float(doc["meta"]["fps"]),
        series_array(s["root"], (3,)),
        kp,
    )


def encode_angles(angles: AngleSeries) -> dict[str, Any]:
    return payload(
        {"names": list(angles.names)},
        {
            "times": pack(angles.times, TIME_DECIMALS),
            "values": pack(np.asarray(angles.values).reshape(len(angles.times), -1), ANGLE_DECIMALS),
        },
    )


def decode_angles(doc: dict[str, Any]) -> AngleSeries:
    names = tuple(doc["meta"]["names"])
    s = doc["series"]
    return AngleSeries(names, series_array(s["values"], (len(names),)), series_array(s["times"]))


_REP_FIELDS = {f.name for f in dataclasses.fields(Rep)}


def encode_reps(reps: list[Rep]) -> dict[str, Any]:
    return payload({}, {"reps": [r.to_dict() for r in reps]})


def decode_reps(doc: dict[str, Any]) -> list[Rep]:
    return [Rep(**{k: v for k, v in d.items() if k in _REP_FIELDS}) for d in doc["series"]["reps"]]


def encode_assessment(label: str | None, timeline: list[dict], reps: list[dict],
                      models: str | None = None) -> dict[str, Any]:
    """SessionResult.exercise_label / exercise_timeline / rep_assessments (JSON-ready dicts) and
    the weights that made them (``models``)."""
    meta = {"exercise_label": label} | ({"models": models} if models else {})
    return payload(meta, {"timeline": list(timeline), "reps": list(reps)})


def decode_assessment(doc: dict[str, Any]) -> tuple[str | None, list[dict], list[dict], str | None]:
    """(exercise_label, timeline, reps, models): ``models`` is None for an assessment stored
    before the weights were recorded."""
    s, meta = doc["series"], doc["meta"]
    return (meta.get("exercise_label"), list(s.get("timeline", [])), list(s.get("reps", [])),
            meta.get("models"))


def encode_corrected(poses: dict[int, PoseSequence]) -> dict[str, Any]:
    """Every rep's corrected pose as one pose series, with the rep index of each frame."""
    reps = sorted(poses)
    seqs = [poses[k] for k in reps]
    joined = PoseSequence(*(np.concatenate([getattr(p, a) for p in seqs])
                            for a in ("joints", "confidence", "times")),
                          seqs[0].fps, np.concatenate([p.root for p in seqs]))
    doc = encode_pose(joined)
    doc["series"]["rep"] = pack(np.repeat(reps, [len(p) for p in seqs]), 0)
    return doc


def decode_corrected(doc: dict[str, Any]) -> dict[int, PoseSequence]:
    seq, rep = decode_pose(doc), series_array(doc["series"]["rep"]).astype(int)
    frames = {int(k): np.flatnonzero(rep == k) for k in np.unique(rep)}
    return {k: seq.slice(int(i[0]), int(i[-1]) + 1) for k, i in frames.items()}


def merge(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge chunks of one kind (in order): meta of the first, series concatenated.

    Series keys missing from some chunk are dropped (they would no longer line up with time).
    """
    if not docs:
        raise ValueError("nothing to merge")
    if len(docs) == 1:
        return docs[0]
    meta = docs[0].get("meta", {})
    for d in docs[1:]:
        if d.get("meta", {}) != meta:
            raise ValueError(f"chunks disagree on their metadata: {meta} vs {d.get('meta')}")
    keys = set.intersection(*(set(d["series"]) for d in docs))
    series = {k: _concat([d["series"][k] for d in docs]) for k in docs[0]["series"] if k in keys}
    return payload(meta, series)


def _concat(parts: list) -> list | dict[str, Any]:
    packed = [p for p in parts if is_packed(p)]
    if not packed:
        return [row for p in parts for row in p]
    arrays = [a for a in map(series_array, parts) if len(a)] or [series_array(packed[0])]
    return pack(np.concatenate(arrays), packed[0]["decimals"])


def angle_ranges(angles: AngleSeries) -> dict[str, float]:
    """Range of motion of every angle over a session: 1st..99th percentile (on the circle,
    ``kinematics.robust_range``), which ignores single-frame tracking glitches. Angles with fewer
    than 2 finite samples are left out."""
    out: dict[str, float] = {}
    values = np.asarray(angles.values, dtype=np.float64).reshape(len(angles.times), -1)
    for i, name in enumerate(angles.names):
        col = values[:, i]
        col = col[np.isfinite(col)]
        if col.size >= 2:
            out[name] = round(robust_range(col, 1.0, 99.0), ANGLE_DECIMALS)
    return out


def angle_gaps(angles: AngleSeries) -> list[str]:
    """The angles measured in fewer than ``FULLY_MEASURED`` of the frames in which any angle is
    (the frames with a person): their range leaps across the gaps (``kinematics.FULLY_MEASURED``)."""
    values = np.asarray(angles.values, dtype=np.float64).reshape(len(angles.times), -1)
    finite = np.isfinite(values)
    person = finite.any(axis=1)
    if not person.any():
        return []
    share = finite[person].mean(axis=0)
    return [name for name, v in zip(angles.names, share) if 0 < v < FULLY_MEASURED]
