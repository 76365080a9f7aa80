"""Fault tests: make the sibling helpers (`fault_proxy`, `openai_loopback`, ...) and the
realtime tests' helpers (`realtime_server`) importable."""

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
for folder in (_HERE, _HERE.parent / "realtime"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
