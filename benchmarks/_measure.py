"""Stage timing and peak memory for the benchmark scripts (not part of the test suite)."""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


@contextmanager
def stage(name: str, rows: Callable[[], int] | None = None) -> Iterator[None]:
    """Print one line per stage: seconds, rows, rows/s and the peak RSS so far."""
    start = time.perf_counter()
    yield
    seconds = time.perf_counter() - start
    count = rows() if rows else 0
    rate = f"{count / seconds:>12,.0f} rows/s" if count and seconds > 0 else " " * 19
    print(
        f"{name:<28} {seconds:8.2f} s {count:>12,} rows {rate}  peak RSS {peak_rss_mb():8.0f} MB", flush=True
    )
