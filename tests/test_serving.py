"""``grokgate serve``'s event loop is not starved by worker threads (``responsive_loop``): the GIL
comes back within 1 ms, and once the tokenizer is built the start-up heap is out of the
cyclic collector's walks. Checked in a child process: both settings are process-wide."""

from __future__ import annotations

import subprocess
import sys

CHILD = """
import gc, sys, threading, time
from grokgate.serving import SWITCH_INTERVAL, responsive_loop
from grokgate.core import usage
assert sys.getswitchinterval() == 0.005 and gc.get_freeze_count() == 0
responsive_loop()
deadline = time.monotonic() + 60
while any(t.name == "settle-heap" for t in threading.enumerate()):
    assert time.monotonic() < deadline
    time.sleep(0.05)
print(sys.getswitchinterval() == SWITCH_INTERVAL, usage._encoding is not None,
      gc.get_freeze_count() > 10_000)
"""


def test_serve_keeps_the_loop_responsive() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120
    )
    assert done.stdout.split() == ["True", "True", "True"], done.stderr
