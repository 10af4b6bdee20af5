"""The heavy libraries are imported one thread at a time (physio_core.libs.IMPORT_LOCK).

In the app, the live page's model warm-up (a background thread) once loaded the models while the
Sensor set page imported the lift classifier, and both failed with "ImportError: cannot import
name ... from partially initialized module" inside scikit-learn. Each check runs in a fresh Python,
where scikit-learn is not imported yet: while the main thread holds the lock, the other thread
must not start importing it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

WAITS_FOR_THE_LOCK = textwrap.dedent("""
    import sys, threading, time
    from physio_core.libs import IMPORT_LOCK

    def work():
        {work}

    with IMPORT_LOCK:
        t = threading.Thread(target=work)
        t.start()
        time.sleep(3.0)
        started = "sklearn" in sys.modules  # the other thread began importing it meanwhile
    t.join()
    print("started while locked:", started, "done:", "sklearn" in sys.modules)
""")


@pytest.mark.parametrize("work", [
    "import physio_core.imu.classifier",  # what the Sensor set page imports
    "from physio_core.assess import get_suite; get_suite()",  # the models, as the warm-up loads them
])
def test_heavy_imports_wait_for_the_import_lock(work):
    code = WAITS_FOR_THE_LOCK.format(work=work)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "started while locked: False done: True", out.stdout
