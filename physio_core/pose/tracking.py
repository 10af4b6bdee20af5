"""Follow ONE person through a video, whatever the pose backend reports frame by frame.

Every person in view gets a light track (2D keypoints, box, constant velocity); candidates
are assigned to tracks with the Hungarian algorithm on a cost made of the median keypoint
distance normalised by the person's size plus (1 - box IoU), gated so that nobody can move
more than a fraction of their own size per frame. Tracks that were seen in the previous
frame are matched first, lost ones after (as in ByteTrack's cascade), so a passer-by who is
already tracked keeps their own identity instead of stealing the target's. A sudden global
shift of everybody (camera jerk) is estimated from the tracks themselves and added to every
prediction; a steady pan is followed by each track's velocity.

The target is the most prominent person (box area x mean confidence, summed over the first
``init_frames`` frames) unless the user picks one (``pick(point)`` / ``pick_index(i)``). A
lost target keeps its identity; it is re-acquired only by a candidate close to where it was
last seen (the gate widens slowly with the time lost, up to ``max_reacquire`` body sizes)
and, when frames are given, with a similar clothing colour. Anything else is reported as
another person, never as the target: with a single-person backend such as MediaPipe, a
detection that jumps across the image is dropped rather than teleporting the skeleton.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from physio_core.skeleton import J, PoseFrame

Status = Literal["waiting", "initialising", "tracking", "lost"]

_TORSO = (J.L_SHOULDER, J.R_SHOULDER, J.L_HIP, J.R_HIP)
_INF = 1e9


@dataclass
class TrackerConfig:
    init_frames: int = 5  # frames (with somebody in view) over which the target is chosen
    min_keypoint_conf: float = 0.3
    max_step: float = 0.35  # gate: median keypoint displacement per frame / person size
    lost_gate_growth: float = 0.05  # gate widening per frame lost (person sizes)
    max_reacquire: float = 1.0  # widest gate for a lost track (person sizes)
    max_size_ratio: float = 1.6  # a person's size cannot change more than this between sightings
    max_predict_frames: int = 5  # constant-velocity extrapolation limit while lost
    drop_after: int = 45  # other people's tracks are forgotten after this many missed frames
    duplicate_iou: float = 0.7  # two candidates overlapping more are one person
    min_colour_similarity: float = 0.5  # Bhattacharyya coefficient, used when frames are given
    # Off by default: after this many frames without the target, take the ONLY person in
    # view (same clothing colour when frames are given) wherever they are. For clips where
    # the athlete walks out and comes back elsewhere and nobody else is around.
    reacquire_anywhere_after: int | None = None


@dataclass
class TrackUpdate:
    """What the tracker says about one frame."""

    pose: PoseFrame | None  # the target's candidate in this frame, None if not seen
    candidate_index: int | None  # its index in the list given to update()
    status: Status
    people_in_view: int  # distinct candidates in this frame
    track_id: int | None = None  # the target's track id (stable unless re-picked)

    @property
    def several_people(self) -> bool:
        return self.people_in_view >= 2


class _Obs(NamedTuple):
    """A candidate as the tracker sees it."""

    kp: np.ndarray  # (N_JOINTS, 2) pixels, NaN where not confident
    bbox: np.ndarray  # (4,) x0, y0, x1, y1
    size: float  # the box's larger side, pixels
    prominence: float  # box area x mean confidence
    colour: np.ndarray | None  # torso colour histogram, when the frame is given


@dataclass
class _Track:
    id: int
    kp: np.ndarray  # (N_JOINTS, 2) last seen, NaN where not confident
    bbox: np.ndarray  # (4,)
    size: float
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))
    lost: int = 0
    hits: int = 1
    prominence: float = 0.0
    colour: np.ndarray | None = None

    def predicted(self, offset: np.ndarray, max_frames: int) -> tuple[np.ndarray, np.ndarray]:
        shift = self.velocity * min(self.lost + 1, max_frames) + offset
        return self.kp + shift, self.bbox + np.tile(shift, 2)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _centre(kp: np.ndarray, bbox: np.ndarray) -> np.ndarray:
    ok = np.isfinite(kp[:, 0])
    return np.median(kp[ok], axis=0) if ok.sum() >= 3 else 0.5 * (bbox[:2] + bbox[2:])


def _colour_histogram(frame: np.ndarray, kp: np.ndarray, bbox: np.ndarray) -> np.ndarray | None:
    """Normalised 4x4x4 RGB histogram of the torso (shoulders-hips box), None if too small."""
    pts = kp[list(_TORSO)]
    pts = pts[np.isfinite(pts[:, 0])]
    if len(pts) >= 3:
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0)
    else:  # middle third of the box
        w, h = bbox[2] - bbox[0], bbox[3] - bbox[1]
        x0, y0, x1, y1 = bbox[0] + w / 3, bbox[1] + h / 3, bbox[2] - w / 3, bbox[3] - h / 3
    hgt, wid = frame.shape[:2]
    x0, x1 = int(max(0, x0)), int(min(wid, x1))
    y0, y1 = int(max(0, y0)), int(min(hgt, y1))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    patch = np.asarray(frame[y0:y1, x0:x1, :3], dtype=np.uint8).reshape(-1, 3) // 64
    idx = patch[:, 0].astype(np.int64) * 16 + patch[:, 1] * 4 + patch[:, 2]
    hist = np.bincount(idx, minlength=64).astype(np.float64)
    return hist / hist.sum()


class PersonTracker:
    """Feed ``update`` every frame's candidates; it returns the one person being followed."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self.reset()

    def reset(self) -> None:
        """Forget everybody (new video)."""
        self._tracks: list[_Track] = []
        self._next_id = 0
        self._target_id: int | None = None
        self._locked = False
        self._init_seen = 0
        self._pending_pick: tuple[float, float] | None = None
        self._last_assignment: dict[int, int] = {}  # candidate index -> track id
        self._last_candidates: list[PoseFrame] = []
        self.frames_with_several_people = 0
        self.max_people_in_view = 0

    # ------------------------------------------------------------------ public API

    @property
    def target_id(self) -> int | None:
        return self._target_id

    @property
    def locked(self) -> bool:
        """True once the target is fixed (after the first frames or a user pick)."""
        return self._locked

    def pick(self, point_xy: tuple[float, float]) -> None:
        """Follow the person at this pixel (in the last frame given, or in the next one)."""
        if not self._last_candidates:
            self._pending_pick = (float(point_xy[0]), float(point_xy[1]))
            return
        self.pick_index(self._candidate_at(self._last_candidates, point_xy,
                                           among=list(self._last_assignment)))

    def pick_index(self, index: int) -> None:
        """Follow candidate ``index`` of the last frame given to ``update``."""
        if index not in self._last_assignment:
            raise IndexError(f"no candidate {index} in the last frame "
                             f"({len(self._last_candidates)} people)")
        self._target_id = self._last_assignment[index]
        self._locked = True
        self._pending_pick = None

    def update(self, candidates: list[PoseFrame], frame_rgb: np.ndarray | None = None
               ) -> TrackUpdate:
        """One frame's candidates (each with keypoints_2d and/or bbox) -> the target's."""
        cfg = self.config
        cands = list(candidates)
        keep = self._distinct(cands)
        obs = {i: self._observation(cands[i], frame_rgb) for i in keep}
        obs = {i: o for i, o in obs.items() if o is not None}
        n_people = len(obs)
        self.max_people_in_view = max(self.max_people_in_view, n_people)
        if n_people >= 2:
            self.frames_with_several_people += 1

        offset = self._global_offset(obs)
        assignment: dict[int, int] = {}  # candidate index -> track index
        free = set(obs)
        recent = [k for k, t in enumerate(self._tracks) if t.lost == 0]
        older = [k for k, t in enumerate(self._tracks) if t.lost > 0]
        for group in (recent, older):
            assignment.update(self._assign(group, sorted(free), obs, offset))
            free -= set(assignment)

        for ci, tk in assignment.items():
            self._observe(self._tracks[tk], obs[ci])
        matched_tracks = set(assignment.values())
        for k, t in enumerate(self._tracks):
            if k not in matched_tracks:  # unseen people move with the scene
                t.lost += 1
                t.kp = t.kp + offset
                t.bbox = t.bbox + np.tile(offset, 2)
        for ci in sorted(free):
            kp, bbox, size, prom, colour = obs[ci]
            self._tracks.append(_Track(self._next_id, kp, bbox, size, prominence=prom,
                                       colour=colour))
            assignment[ci] = len(self._tracks) - 1
            self._next_id += 1

        self._take_over_if_alone(assignment, obs)
        self._last_candidates = cands
        self._last_assignment = {ci: self._tracks[tk].id for ci, tk in assignment.items()}
        if self._pending_pick is not None and obs:
            self.pick_index(self._candidate_at(cands, self._pending_pick, among=list(obs)))
        self._choose_target(n_people)
        self._tracks = [t for t in self._tracks
                        if t.id == self._target_id or t.lost <= cfg.drop_after]

        if self._target_id is None:
            return TrackUpdate(None, None, "waiting", n_people)
        by_id = {tid: ci for ci, tid in self._last_assignment.items()}
        ci = by_id.get(self._target_id)
        status: Status = "initialising" if not self._locked else (
            "tracking" if ci is not None else "lost")
        pose = cands[ci] if ci is not None else None
        return TrackUpdate(pose, ci, status, n_people, self._target_id)

    # ------------------------------------------------------------------ internals

    def _observation(self, c: PoseFrame, frame: np.ndarray | None) -> _Obs | None:
        cfg = self.config
        kp = None
        if c.keypoints_2d is not None:
            kp = np.array(c.keypoints_2d, dtype=np.float64)
            kp[~(c.confidence >= cfg.min_keypoint_conf)] = np.nan
        if c.bbox is not None:
            bbox = np.asarray(c.bbox, dtype=np.float64)
        elif kp is not None and np.isfinite(kp[:, 0]).sum() >= 2:
            ok = np.isfinite(kp[:, 0])
            bbox = np.concatenate([kp[ok].min(axis=0), kp[ok].max(axis=0)])
        else:
            return None
        if kp is None:
            kp = np.full((len(c.confidence), 2), np.nan)
        size = float(max(bbox[2] - bbox[0], bbox[3] - bbox[1], 1.0))
        area = float((bbox[2] - bbox[0]) * (bbox[3] - bbox[1]))
        prominence = area * float(np.mean(c.confidence))
        colour = _colour_histogram(frame, kp, bbox) if frame is not None else None
        return _Obs(kp, bbox, size, prominence, colour)

    def _distinct(self, cands: list[PoseFrame]) -> list[int]:
        """Indices of candidates, dropping duplicates of a more confident one."""
        order = sorted(range(len(cands)), key=lambda i: -float(np.mean(cands[i].confidence)))
        kept: list[int] = []
        for i in order:
            b = cands[i].bbox
            if b is not None and any(
                cands[k].bbox is not None
                and _iou(np.asarray(b), np.asarray(cands[k].bbox)) > self.config.duplicate_iou
                for k in kept
            ):
                continue
            kept.append(i)
        return sorted(kept)

    def _global_offset(self, obs: dict[int, _Obs]) -> np.ndarray:
        """Common image shift of everybody since the last frame (camera jerk), else 0.

        Each (recent track, candidate) pair of similar size proposes an offset. An offset is
        accepted only if it brings back at least two people AND, without it, at least two
        would be lost in the same frame; one person leaving while another arrives where
        they would have been after a jerk is the likelier story and is kept as such.
        """
        recent = [t for t in self._tracks if t.lost == 0]
        if len(recent) < 2 or len(obs) < 2:
            return np.zeros(2)
        per_track: list[tuple[list[np.ndarray], float]] = []
        for t in recent:
            kp_pred, bb_pred = t.predicted(np.zeros(2), self.config.max_predict_frames)
            c_pred = _centre(kp_pred, bb_pred)
            offs = [_centre(kp, bbox) - c_pred for kp, bbox, size, _, _ in obs.values()
                    if max(size, t.size) / min(size, t.size) <= self.config.max_size_ratio]
            per_track.append((offs, t.size))

        def support(off: np.ndarray) -> int:  # tracks with a candidate agreeing with off
            tol = 0.5 * self.config.max_step
            return sum(any(np.linalg.norm(o - off) <= tol * size for o in offs)
                       for offs, size in per_track)

        proposals = [o for offs, _ in per_track for o in offs]
        if not proposals:
            return np.zeros(2)
        best = max(proposals, key=lambda o: (support(o), -np.linalg.norm(o)))
        if support(best) >= 2 and support(np.zeros(2)) <= len(recent) - 2:
            return best
        return np.zeros(2)

    def _cost(self, t: _Track, ob: _Obs, offset: np.ndarray) -> float:
        cfg = self.config
        kp, bbox, size, _, colour = ob
        if max(size, t.size) / min(size, t.size) > cfg.max_size_ratio:
            return _INF
        kp_pred, bb_pred = t.predicted(offset, cfg.max_predict_frames)
        both = np.isfinite(kp_pred[:, 0]) & np.isfinite(kp[:, 0])
        if both.sum() >= 3:
            dist = float(np.median(np.linalg.norm(kp_pred[both] - kp[both], axis=1)))
        else:
            dist = float(np.linalg.norm(_centre(kp_pred, bb_pred) - _centre(kp, bbox)))
        dist /= t.size
        gate = min(cfg.max_step + cfg.lost_gate_growth * t.lost, cfg.max_reacquire)
        if dist > gate:
            return _INF
        # clothing colour guards re-acquisition only: frame to frame, geometry is reliable and
        # a lighting change must not lose a person in plain view
        if t.lost > 0 and not self._similar_colour(t, colour):
            return _INF
        return dist + 0.5 * (1.0 - _iou(bb_pred, bbox))

    def _similar_colour(self, t: _Track, colour: np.ndarray | None) -> bool:
        if colour is None or t.colour is None:
            return True
        return float(np.sum(np.sqrt(colour * t.colour))) >= self.config.min_colour_similarity

    def _assign(self, tracks: list[int], cand_ids: list[int], obs: dict[int, _Obs],
                offset: np.ndarray) -> dict[int, int]:
        if not tracks or not cand_ids:
            return {}
        cost = np.array([[self._cost(self._tracks[k], obs[c], offset) for c in cand_ids]
                         for k in tracks])
        rows, cols = linear_sum_assignment(cost)
        return {cand_ids[c]: tracks[r] for r, c in zip(rows, cols) if cost[r, c] < _INF}

    def _observe(self, t: _Track, ob: _Obs) -> None:
        kp, bbox, size, prominence, colour = ob
        gap = t.lost + 1
        both = np.isfinite(t.kp[:, 0]) & np.isfinite(kp[:, 0])
        if both.sum() >= 3:
            step = np.median(kp[both] - t.kp[both], axis=0) / gap
        else:
            step = (_centre(kp, bbox) - _centre(t.kp, t.bbox)) / gap
        t.velocity = 0.5 * t.velocity + 0.5 * step
        # keep the last known position of joints not seen this time (occluded arm...)
        t.kp = np.where(np.isfinite(kp), kp, t.kp + step * gap)
        t.bbox = bbox
        t.size = 0.7 * t.size + 0.3 * size
        t.lost = 0
        t.hits += 1
        t.prominence += prominence
        if colour is not None:
            t.colour = colour if t.colour is None else 0.8 * t.colour + 0.2 * colour

    def _take_over_if_alone(self, assignment: dict[int, int], obs: dict[int, _Obs]) -> None:
        """``reacquire_anywhere_after``: the long-lost target becomes the only person seen."""
        n = self.config.reacquire_anywhere_after
        if n is None or not self._locked or len(obs) != 1:
            return
        target = next((k for k, t in enumerate(self._tracks) if t.id == self._target_id), None)
        (ci,) = obs
        other = assignment[ci]
        if target is None or other == target or self._tracks[target].lost < n:
            return
        if not self._similar_colour(self._tracks[target], obs[ci].colour):
            return
        t = self._tracks[target]
        t.lost = 0
        t.velocity = np.zeros(2)
        t.kp, t.bbox, t.size, t.colour = (self._tracks[other].kp, self._tracks[other].bbox,
                                          self._tracks[other].size, self._tracks[other].colour)
        del self._tracks[other]
        assignment[ci] = target
        for k in list(assignment):
            if assignment[k] > other:
                assignment[k] -= 1

    def _choose_target(self, n_people: int) -> None:
        if self._locked or not self._tracks:
            return
        if n_people:
            self._init_seen += 1
        leader = max(self._tracks, key=lambda t: t.prominence)
        if leader.prominence <= 0 and self._target_id is None:
            return
        self._target_id = leader.id
        if self._init_seen >= self.config.init_frames:
            self._locked = True

    @staticmethod
    def _candidate_at(cands: list[PoseFrame], point_xy, among: list[int] | None = None) -> int:
        """Index of the candidate under the point: smallest box containing it, else nearest."""
        p = np.asarray(point_xy, dtype=np.float64)
        ids = among if among is not None else list(range(len(cands)))
        best, best_key = None, None
        for i in ids:
            c = cands[i]
            if c.bbox is None:
                if c.keypoints_2d is None:
                    continue
                ok = np.isfinite(c.keypoints_2d[:, 0])
                b = np.concatenate([c.keypoints_2d[ok].min(0), c.keypoints_2d[ok].max(0)])
            else:
                b = np.asarray(c.bbox, dtype=np.float64)
            inside = b[0] <= p[0] <= b[2] and b[1] <= p[1] <= b[3]
            area = (b[2] - b[0]) * (b[3] - b[1])
            key = (0, area) if inside else (1, float(np.linalg.norm(0.5 * (b[:2] + b[2:]) - p)))
            if best_key is None or key < best_key:
                best, best_key = i, key
        if best is None:
            raise ValueError("no person to pick in this frame")
        return best
