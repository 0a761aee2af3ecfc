"""Runs one function's entry module the way Lambda does (``python host.py <entry.py>``): the
module is imported once, then each line on stdin is an event for its ``handler`` and each line
on stdout the result (``{"result": ...}`` or ``{"crash": traceback}``). Logs go to stderr."""

from __future__ import annotations

import importlib.util
import json
import sys
import traceback
from pathlib import Path


def main() -> None:
    entry = Path(sys.argv[1])
    sys.path.insert(0, str(entry.parent))  # Lambda's task root is on the path
    spec = importlib.util.spec_from_file_location(entry.stem, entry)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = sys.stdout
    sys.stdout = sys.stderr  # anything the function prints is a log line, not a result
    for line in sys.stdin:
        try:
            answer = {"result": module.handler(json.loads(line), None)}
        except Exception:
            answer = {"crash": traceback.format_exc()}
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
