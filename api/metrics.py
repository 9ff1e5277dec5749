"""A Prometheus histogram of request durations, cheap enough to observe every request."""

from __future__ import annotations

from bisect import bisect_left

# Seconds: from a cached read to a long invoke-and-await (the default timeout is 60 s).
DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                    30.0, 60.0)


class Histogram:
    """Counts per bucket (not cumulative: one increment per observation), summed on render."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...] = DURATION_BUCKETS) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one: above every bound (+Inf)
        self.total = 0.0

    def observe(self, value: float) -> None:
        # bisect_left: a value equal to a bound counts in that bound's bucket (le = "<=").
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    def samples(self) -> list[str]:
        """The family's sample lines after its name: cumulative buckets, _sum, _count."""
        lines, running = [], 0
        for bound, n in zip((*(f"{b:g}" for b in self.bounds), "+Inf"), self.counts):
            running += n
            lines.append(f'_bucket{{le="{bound}"}} {running}')
        return lines + [f"_sum {self.total:.6f}", f"_count {running}"]
