"""One lock for importing the heavy libraries (torch, scikit-learn) from more than one thread.

Two threads importing scikit-learn at the same time can each meet the other's half-imported
module and fail with "ImportError: cannot import name ... from partially initialized module".
That happened in the app: the live page's model warm-up (a background thread) was loading the
models while the Sensor set page imported the lift classifier. Code that first imports these
libraries, or loads models that need them, does it holding ``IMPORT_LOCK``.
"""

from __future__ import annotations

import threading

IMPORT_LOCK = threading.RLock()
