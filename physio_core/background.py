"""Long work run on a thread of its own (an import of an athlete's archive: a few seconds a
session), so that the page that started it can be left and come back to.

    job = background.start(("import", viewer_id), lambda progress: import_sessions(..., progress=progress),
                           label="Ana Lopez's archive")
    background.current(("import", viewer_id))   # how far it has got: done, total, the item under way
    background.collect(("import", viewer_id))   # once finished: the job, handed out once

One job per key at a time. The jobs live in the server process: a restart stops one half-way,
and what it stored stays (an import run again stores the rest). Started with ``trace_dir``, a
job keeps a small file there of how far it has got, removed when it ends: after a restart,
``interrupted(key, trace_dir)`` finds it and says, once, where the job stopped.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]  # (items done, items in all, the item under way)


class JobRunning(RuntimeError):
    """A job with this key has not finished yet."""

    def __init__(self, job: Job) -> None:
        super().__init__(f"{job.label} is still running ({job.done} of {job.total} done)")
        self.job = job


@dataclass
class Job:
    key: Hashable
    label: str
    meta: dict[str, Any] = field(default_factory=dict)  # what the caller wants back with the result
    total: int = 0
    done: int = 0
    current: str = ""  # the item under way
    result: Any = None
    error: BaseException | None = None  # what stopped it
    finished: bool = False
    started_at: float = field(default_factory=time.monotonic)
    finished_at: float | None = None
    trace: Path | None = None  # the file that outlives a restart, while the job runs

    def progress(self, done: int, total: int, current: str) -> None:
        self.done, self.total, self.current = done, total, current
        self._write_trace()

    def _write_trace(self) -> None:
        if self.trace is None:
            return
        doc = {"label": self.label, "meta": self.meta, "done": self.done, "total": self.total,
               "current": self.current, "pid": os.getpid(), "at": datetime.now(UTC).isoformat()}
        try:
            part = self.trace.with_suffix(".part")
            part.write_text(json.dumps(doc, default=str))
            part.replace(self.trace)
        except OSError:  # the job goes on; only a restart would go unsaid
            log.warning("could not write %s", self.trace, exc_info=True)

    @property
    def share(self) -> float:
        return self.done / self.total if self.total else 0.0


@dataclass(frozen=True)
class Interrupted:
    """A job that a restart (or a crash) of its server process stopped: how far it had got."""
    label: str
    meta: dict[str, Any]
    done: int
    total: int
    current: str  # the item under way when it was last heard of
    last_heard: datetime  # UTC


_jobs: dict[Hashable, Job] = {}
_lock = threading.Lock()


def trace_path(key: Hashable, trace_dir: Path) -> Path:
    parts = key if isinstance(key, tuple) else (key,)
    return Path(trace_dir) / (re.sub(r"[^A-Za-z0-9_.-]+", "_", "-".join(map(str, parts))) + ".json")


def start(key: Hashable, work: Callable[[Progress], Any], *, label: str,
          meta: dict[str, Any] | None = None, trace_dir: Path | None = None) -> Job:
    """Run ``work(progress)`` on a thread of its own; raises ``JobRunning`` while a job of the
    same key has not finished. A finished job of that key not collected yet is replaced.
    ``trace_dir``: keep a file there of how far the job has got (``meta`` must be JSON), for
    ``interrupted`` after a restart."""
    with _lock:
        if (old := _jobs.get(key)) is not None and not old.finished:
            raise JobRunning(old)
        job = _jobs[key] = Job(key, label, dict(meta or {}))
        if trace_dir is not None:
            try:
                Path(trace_dir).mkdir(parents=True, exist_ok=True)
                job.trace = trace_path(key, trace_dir)
            except OSError:
                log.warning("no trace of %s in %s", label, trace_dir, exc_info=True)
        job._write_trace()
    threading.Thread(target=_run, args=(job, work), name=f"background {label}", daemon=True).start()
    return job


def _run(job: Job, work: Callable[[Progress], Any]) -> None:
    try:
        job.result = work(job.progress)
    except Exception as exc:  # said by the page that collects it
        log.exception("%s failed", job.label)
        job.error = exc
    finally:
        if job.trace is not None:  # its outcome is said from memory now
            try:
                job.trace.unlink(missing_ok=True)
            except OSError:
                log.warning("could not remove %s", job.trace, exc_info=True)
        job.finished_at = time.monotonic()
        job.finished = True


def wait(key: Hashable, timeout_s: float | None = None) -> Job | None:
    """Block until the job of ``key`` has finished (or ``timeout_s`` has passed); returns it
    (not collected), or None if there is none."""
    end = None if timeout_s is None else time.monotonic() + timeout_s
    while (job := current(key)) is not None and not job.finished:
        if end is not None and time.monotonic() > end:
            break
        time.sleep(0.05)
    return job


def current(key: Hashable) -> Job | None:
    """The job of ``key``, running or finished and not collected yet; None if there is none."""
    with _lock:
        return _jobs.get(key)


def collect(key: Hashable) -> Job | None:
    """The finished job of ``key``, taken off the list (its outcome is said once); None while it
    runs or when there is none."""
    with _lock:
        job = _jobs.get(key)
        if job is None or not job.finished:
            return None
        del _jobs[key]
        return job


def _forget(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:  # said again next time rather than a page's traceback
        log.warning("could not remove %s", path, exc_info=True)


def _alive(pid: int) -> bool:
    if pid <= 0:  # os.kill(0, ...) would ask about our own process group
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def interrupted(key: Hashable, trace_dir: Path) -> Interrupted | None:
    """The job of ``key`` that a server process stopped half-way, by the trace it left in
    ``trace_dir``, said once (the trace is removed); None when there is none, when the job is
    running or finished here, or while another process that is still alive runs it (two app
    servers over one data folder)."""
    path = trace_path(key, trace_dir)
    with _lock:
        if key in _jobs or not path.is_file():
            return None
        try:
            doc = json.loads(path.read_text())
            pid = int(doc.get("pid", 0))
        except (OSError, ValueError, TypeError):
            _forget(path)
            return None
        if pid != os.getpid() and _alive(pid):
            return None
        _forget(path)
    try:
        last = datetime.fromisoformat(doc["at"])
    except (KeyError, TypeError, ValueError):
        last = datetime.fromtimestamp(0, UTC)
    try:
        return Interrupted(str(doc.get("label", "")), dict(doc.get("meta") or {}), int(doc.get("done", 0)),
                           int(doc.get("total", 0)), str(doc.get("current", "")), last)
    except (TypeError, ValueError):  # a file not of this module's writing
        log.warning("%s does not read as a job's trace", path)
        return None
