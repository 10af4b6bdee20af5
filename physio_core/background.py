"""Long work run on a thread of its own (an import of an athlete's archive: a few seconds a
session), so that the page that started it can be left and come back to.

    job = background.start(("import", viewer_id), lambda progress: import_sessions(..., progress=progress),
                           label="Ana Lopez's archive")
    background.current(("import", viewer_id))   # how far it has got: done, total, the item under way
    background.collect(("import", viewer_id))   # once finished: the job, handed out once

One job per key at a time. The jobs live in the server process: a restart stops one half-way,
and what it stored stays (an import run again stores the rest).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
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

    def progress(self, done: int, total: int, current: str) -> None:
        self.done, self.total, self.current = done, total, current

    @property
    def share(self) -> float:
        return self.done / self.total if self.total else 0.0


_jobs: dict[Hashable, Job] = {}
_lock = threading.Lock()


def start(key: Hashable, work: Callable[[Progress], Any], *, label: str,
          meta: dict[str, Any] | None = None) -> Job:
    """Run ``work(progress)`` on a thread of its own; raises ``JobRunning`` while a job of the
    same key has not finished. A finished job of that key not collected yet is replaced."""
    with _lock:
        if (old := _jobs.get(key)) is not None and not old.finished:
            raise JobRunning(old)
        job = _jobs[key] = Job(key, label, dict(meta or {}))
    threading.Thread(target=_run, args=(job, work), name=f"background {label}", daemon=True).start()
    return job


def _run(job: Job, work: Callable[[Progress], Any]) -> None:
    try:
        job.result = work(job.progress)
    except Exception as exc:  # said by the page that collects it
        log.exception("%s failed", job.label)
        job.error = exc
    finally:
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
