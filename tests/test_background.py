"""Long work on a thread of its own (``physio_core.background``), as the import box runs it:
how far it has got while it runs, one job per key, its outcome handed out once."""

from __future__ import annotations

import threading

import pytest

from physio_core import background


def test_a_job_says_how_far_it_has_got_and_hands_out_its_outcome_once():
    go_on = threading.Event()
    reached = threading.Event()

    def work(progress):
        for k in range(3):
            progress(k, 3, f"item {k + 1}")
            if k == 1:
                reached.set()
                assert go_on.wait(30)
        return "all three"

    key = ("test", 1)
    job = background.start(key, work, label="three items", meta={"athlete": "Ana"})
    assert reached.wait(30)
    now = background.current(key)
    assert now is job and not now.finished and (now.done, now.total, now.current) == (1, 3, "item 2")
    assert now.share == pytest.approx(1 / 3) and now.meta == {"athlete": "Ana"}
    with pytest.raises(background.JobRunning, match=r"three items is still running \(1 of 3 done\)"):
        background.start(key, work, label="again")
    assert background.collect(key) is None  # not while it runs
    other = background.start(("test", 2), lambda progress: 42, label="another key")
    go_on.set()
    assert background.wait(key, 30).finished
    done = background.collect(key)
    assert done is job and done.result == "all three" and done.error is None
    assert background.collect(key) is None and background.current(key) is None  # handed out once
    assert background.wait(("test", 2), 30) is other and background.collect(("test", 2)).result == 42


def test_a_job_that_fails_says_why_and_frees_its_key():
    def work(progress):
        progress(0, 2, "first")
        raise ConnectionError("the database went away")

    key = ("test", 3)
    background.start(key, work, label="failing")
    job = background.wait(key, 30)
    assert job.finished and isinstance(job.error, ConnectionError) and job.result is None
    assert (job.done, job.total) == (0, 2)
    # a finished job not collected yet is replaced by a new one of its key
    background.start(key, lambda progress: "second", label="second")
    assert background.wait(key, 30).result == "second"
    assert background.collect(key).label == "second"


# a server process that dies half-way through a job (a restart, a crash): the job's thread goes
# with it, and its trace is all that is left
_DYING_SERVER = """
import os, sys, threading
from physio_core import background
reached = threading.Event()
def work(progress):
    progress(0, 5, "#11")
    progress(2, 5, "#13")
    reached.set()
    threading.Event().wait()
background.start(("import", 7), work, label="year.zip", meta={"athlete_id": 3, "athlete": "Ana"},
                 trace_dir=sys.argv[1])
assert reached.wait(30)
print("half-way", flush=True)
if sys.argv[2] == "die":
    os._exit(0)
sys.stdin.read()  # alive until the test closes its input
"""


def _server(trace_dir, how: str):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen([sys.executable, "-c", _DYING_SERVER, str(trace_dir), how], cwd=root,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "half-way"
    return proc


def test_a_job_stopped_by_its_server_process_says_where_it_stopped_once(tmp_path):
    from datetime import UTC, datetime, timedelta

    proc = _server(tmp_path, "die")
    assert proc.wait(30) == 0
    gone = background.interrupted(("import", 7), tmp_path)
    assert gone is not None
    assert (gone.label, gone.meta, gone.done, gone.total, gone.current) == (
        "year.zip", {"athlete_id": 3, "athlete": "Ana"}, 2, 5, "#13")
    assert datetime.now(UTC) - gone.last_heard < timedelta(minutes=5)
    assert background.interrupted(("import", 7), tmp_path) is None  # said once
    assert background.interrupted(("import", 8), tmp_path) is None  # another user's key: nothing


def test_a_job_another_live_process_runs_is_not_called_stopped(tmp_path):
    proc = _server(tmp_path, "live")
    try:
        assert background.interrupted(("import", 7), tmp_path) is None
    finally:
        proc.stdin.close()
        proc.wait(30)
    # that process has gone now, half-way through its job
    assert background.interrupted(("import", 7), tmp_path).done == 2


def test_a_job_that_ends_leaves_no_trace(tmp_path):
    go_on = threading.Event()

    def work(progress):
        progress(0, 1, "only")
        assert go_on.wait(30)
        return "done"

    key = ("test", 9)
    background.start(key, work, label="one item", trace_dir=tmp_path)
    assert background.trace_path(key, tmp_path).is_file()
    assert background.interrupted(key, tmp_path) is None  # running here
    go_on.set()
    assert background.wait(key, 30).result == "done"
    assert not background.trace_path(key, tmp_path).exists() and list(tmp_path.iterdir()) == []
    background.collect(key)
    assert background.interrupted(key, tmp_path) is None


def test_a_trace_that_cannot_be_read_is_dropped(tmp_path):
    import json

    key = ("import", 11)
    path = background.trace_path(key, tmp_path)
    path.write_text("{ cut sho")
    assert background.interrupted(key, tmp_path) is None and not path.exists()
    # one written without a process id (no process runs it): said, with what it holds
    path.write_text(json.dumps({"label": "old.zip", "done": 1, "total": 4, "current": "#2"}))
    gone = background.interrupted(key, tmp_path)
    assert (gone.label, gone.done, gone.total, gone.current) == ("old.zip", 1, 4, "#2") and not path.exists()
