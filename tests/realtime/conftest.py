"""Realtime tests: make the sibling helpers (`realtime_signals`, `realtime_server`) importable."""

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
