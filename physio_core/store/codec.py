"""Compact JSON layout of the per-frame series kept in ``sensor_data.payload``.

Every payload is ``{"v": 1, "meta": {...}, "series": {key: list, ...}}``: ``meta`` holds what is
constant over the session (fps, angle names), ``series`` holds per-frame rows as (nested) lists.
Live chunks of one kind are merged by concatenating their series key by key.

Numbers are rounded to what the sources can resolve (1 mm, 0.01 deg, 0.1 ms, 0.1 px) and
NaN is written as null (JSON has no NaN; null comes back as NaN).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from physio_core.results import AngleSeries, Rep
from physio_core.skeleton import N_JOINTS, PoseSequence

FORMAT_VERSION = 1
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


def to_list(a: np.ndarray, decimals: int) -> list:
    """Round and turn into nested lists, NaN/inf -> None."""
    r = np.round(np.asarray(a, dtype=np.float64), decimals)
    out = r.astype(object)
    out[~np.isfinite(r)] = None
    return out.tolist()


def from_list(values: list, tail: tuple[int, ...] = ()) -> np.ndarray:
    """Nested lists with None -> float array of shape (T, *tail), None -> NaN."""
    a = np.array(values, dtype=np.float64)
    return a.reshape((-1, *tail)) if tail or a.size == 0 else a


def payload(meta: dict[str, Any], series: dict[str, list]) -> dict[str, Any]:
    return {"v": FORMAT_VERSION, "meta": meta, "series": series}


def encode_pose(seq: PoseSequence) -> dict[str, Any]:
    t = len(seq)
    series = {
        "times": to_list(seq.times, TIME_DECIMALS),
        "joints": to_list(seq.joints.reshape(t, N_JOINTS * 3), POSE_DECIMALS),
        "confidence": to_list(seq.confidence, CONFIDENCE_DECIMALS),
        "root": to_list(seq.root.reshape(t, 3), POSE_DECIMALS),
    }
    if seq.keypoints_2d is not None and np.isfinite(seq.keypoints_2d).any():
        series["keypoints_2d"] = to_list(seq.keypoints_2d.reshape(t, N_JOINTS * 2), PIXEL_DECIMALS)
    return payload({"fps": float(seq.fps), "n_joints": N_JOINTS}, series)


def decode_pose(doc: dict[str, Any]) -> PoseSequence:
    s = doc["series"]
    joints = from_list(s["joints"], (N_JOINTS, 3))
    kp = from_list(s["keypoints_2d"], (N_JOINTS, 2)) if "keypoints_2d" in s else None
    return PoseSequence(
        joints,
        from_list(s["confidence"], (N_JOINTS,)),
        from_list(s["times"]),
        float(doc["meta"]["fps"]),
        from_list(s["root"], (3,)),
        kp,
    )


def encode_angles(angles: AngleSeries) -> dict[str, Any]:
    return payload(
        {"names": list(angles.names)},
        {
            "times": to_list(angles.times, TIME_DECIMALS),
            "values": to_list(np.asarray(angles.values).reshape(len(angles.times), -1), ANGLE_DECIMALS),
        },
    )


def decode_angles(doc: dict[str, Any]) -> AngleSeries:
    names = tuple(doc["meta"]["names"])
    s = doc["series"]
    return AngleSeries(names, from_list(s["values"], (len(names),)), from_list(s["times"]))


_REP_FIELDS = {f.name for f in dataclasses.fields(Rep)}


def encode_reps(reps: list[Rep]) -> dict[str, Any]:
    return payload({}, {"reps": [r.to_dict() for r in reps]})


def decode_reps(doc: dict[str, Any]) -> list[Rep]:
    return [Rep(**{k: v for k, v in d.items() if k in _REP_FIELDS}) for d in doc["series"]["reps"]]


def encode_assessment(label: str | None, timeline: list[dict], reps: list[dict]) -> dict[str, Any]:
    """SessionResult.exercise_label / exercise_timeline / rep_assessments (JSON-ready dicts)."""
    return payload({"exercise_label": label}, {"timeline": list(timeline), "reps": list(reps)})


def decode_assessment(doc: dict[str, Any]) -> tuple[str | None, list[dict], list[dict]]:
    s = doc["series"]
    return doc["meta"].get("exercise_label"), list(s.get("timeline", [])), list(s.get("reps", []))


def encode_corrected(poses: dict[int, PoseSequence]) -> dict[str, Any]:
    """Every rep's corrected pose as one pose series, with the rep index of each frame."""
    reps = sorted(poses)
    seqs = [poses[k] for k in reps]
    joined = PoseSequence(*(np.concatenate([getattr(p, a) for p in seqs])
                            for a in ("joints", "confidence", "times")),
                          seqs[0].fps, np.concatenate([p.root for p in seqs]))
    doc = encode_pose(joined)
    doc["series"]["rep"] = [k for k, p in zip(reps, seqs) for _ in range(len(p))]
    return doc


def decode_corrected(doc: dict[str, Any]) -> dict[int, PoseSequence]:
    seq, rep = decode_pose(doc), np.asarray(doc["series"]["rep"], dtype=int)
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
    series = {k: [row for d in docs for row in d["series"][k]] for k in docs[0]["series"] if k in keys}
    return payload(meta, series)


def angle_ranges(angles: AngleSeries) -> dict[str, float]:
    """Range of motion of every angle over a session: 1st..99th percentile, which ignores
    single-frame tracking glitches. Angles with fewer than 2 finite samples are left out."""
    out: dict[str, float] = {}
    values = np.asarray(angles.values, dtype=np.float64).reshape(len(angles.times), -1)
    for i, name in enumerate(angles.names):
        col = values[:, i]
        col = col[np.isfinite(col)]
        if col.size >= 2:
            lo, hi = np.percentile(col, [1.0, 99.0])
            out[name] = round(float(hi - lo), ANGLE_DECIMALS)
    return out
