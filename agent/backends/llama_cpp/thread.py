"""The one thread that runs every llama.cpp call of the process.

llama.cpp (built with OpenMP) synchronises its threads at a barrier after every operation of
a forward pass, hundreds of times a token. libgomp spins at a barrier only while it manages
no more threads than there are cores; each distinct thread that has called into llama.cpp
keeps an OpenMP team of its own, and once the teams outnumber the cores every barrier falls
back to sleeping in the kernel. Calls spread over asyncio's default executor (several
threads) made decoding ~1.8x slower on two cores (measured: 16 -> 28-30 ms a token, and 40
after a fresh thread joined). One thread for all of them keeps one team.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama.cpp")


def in_llama_thread(fn: Callable[[], T]) -> asyncio.Future[T]:
    """Run `fn` on the llama.cpp thread (after whatever was queued before it)."""
    return asyncio.get_running_loop().run_in_executor(_EXECUTOR, fn)
