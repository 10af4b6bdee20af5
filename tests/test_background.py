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
