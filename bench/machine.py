"""How fast this machine runs Python, for the benchmarks whose bars are in milliseconds (the
planner's, the load run's): machines of the same kind here differ by two times and more, so
each such benchmark prints this figure beside its own, measured in the same run."""

from __future__ import annotations

import time

LOOP = 3_000_000


def reference_ms() -> float:
    """CPU milliseconds for a fixed loop of pure Python (LOOP additions), the best of three."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        total = 0
        for i in range(LOOP):
            total += i
        best = min(best, time.process_time() - start)
    return best * 1000


def line() -> str:
    return (
        f"machine: {reference_ms():.0f} ms of CPU for {LOOP:,} additions in pure Python "
        "(best of three; the same code's times scale with it)"
    )
