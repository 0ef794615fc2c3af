"""Python's cyclic garbage collector paused while rows stream.

A batch is tens of thousands of tuples, each holding datetimes, decimals and strings: every
700 allocations the collector walks the young objects, and as batches survive it walks the whole
heap again and again, about a tenth of a run's time (measured with py-spy on PostgreSQL ->
MariaDB). The rows make no reference cycles, so nothing is kept longer while the collector
waits; reference counting still frees each batch when it is written. Runs in several threads
(the GUI can run jobs side by side) share one count: the collector resumes when the last ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_active = 0
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off for the block (and any overlapping one), back as it was after the last."""
    global _active, _was_enabled
    with _lock:
        if _active == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _was_enabled:
                gc.enable()
