"""What every benchmark scenario shares: the result line, timing helpers, temp executors.

A scenario is an `async def scenario(quick: bool) -> Result` in its own
`benchmarks/bench_<what>.py`; `benchmarks.run` calls them one after another.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
GUESTS = ROOT / "guests"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

COUNTER = "golemite:counter/api"


@dataclass
class Result:
    """One scenario's outcome, printed as one JSON line.

    `baseline` and `ratio` are keyed by the figure they belong to, so a reader can
    put each figure beside what it was measured against; `ratio` is always
    figure / baseline. `goals` maps a figure to the issue's target and whether this
    run met it.
    """

    scenario: str
    params: dict[str, Any]
    figures: dict[str, float] = field(default_factory=dict)
    baseline: dict[str, float] = field(default_factory=dict)
    ratio: dict[str, float] = field(default_factory=dict)
    goals: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: str = ""

    def compare(self, name: str, value: float | None, base: float | None, digits: int = 3) -> None:
        """Record a figure, its baseline (if any) and their ratio; a missing or nan value is null."""
        value = _clean(value, digits)
        base = _clean(base, digits)
        self.figures[name] = value
        if base is not None:
            self.baseline[name] = base
            if base and value is not None:
                self.ratio[name] = _round(value / base, 3)

    def goal(self, name: str, text: str, met: bool, baseline_slices: list[float] | None = None) -> None:
        """The issue's target for a figure; `baseline_slices` are the baseline's rates in the
        run's slices, kept as their spread (fastest / slowest) to show how steady it was."""
        self.goals[name] = {"goal": text, "met": bool(met)}
        if baseline_slices:
            self.goals[name]["baseline_spread"] = _round(max(baseline_slices) / min(baseline_slices), 3)

    def to_json(self) -> dict[str, Any]:
        out = {"scenario": self.scenario, "params": self.params, "figures": self.figures,
               "baseline": self.baseline, "ratio": self.ratio, "goals": self.goals}
        if self.notes:
            out["notes"] = self.notes
        return out

    def line(self) -> str:
        return json.dumps(self.to_json(), allow_nan=False)


def _clean(value: float | None, digits: int) -> float | None:
    # JSON has no nan: a figure that could not be measured is null.
    if value is None or not math.isfinite(value):
        return None
    return _round(value, digits)


def _round(value: float, digits: int) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    # Significant digits, not decimals: figures range from microseconds to thousands/s.
    magnitude = int(math.floor(math.log10(abs(value))))
    return round(value, max(0, digits - 1 - magnitude))


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted samples; nan when empty."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def median(samples: list[float]) -> float:
    return percentile(samples, 50)


def quiet_logs() -> None:
    """Executor logs go to stderr at warning level, so stdout stays JSON lines and a table."""
    import structlog

    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.dev.ConsoleRenderer(colors=False)],
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def run_on_daemon_loop(coro: Awaitable[Any]) -> Any:
    """Run a coroutine on the event loop `golemite serve` runs on by default (uvloop), so
    the in-process figures are those of the daemon's executor."""
    from api.cli import event_loop_factory
    with asyncio.Runner(loop_factory=event_loop_factory("uvloop")) as runner:
        return runner.run(coro)


def run_alone(scenario: Callable[[bool], Awaitable["Result"]], doc: str | None, argv: list[str] | None) -> int:
    """The `main()` of a scenario module run on its own: one JSON line on stdout."""
    ap = argparse.ArgumentParser(description=(doc or "").splitlines()[0] if doc else None)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    quiet_logs()
    print(run_on_daemon_loop(scenario(args.quick)).line(), flush=True)
    return 0


def guest_path(name: str) -> Path:
    return GUESTS / name / f"{name}.wasm"


def guest_bytes(name: str) -> bytes:
    return guest_path(name).read_bytes()


def rss_bytes() -> int:
    """Resident set size of this process (VmRSS), in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmRSS not found in /proc/self/status")


def thread_cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) used so far by this process's threads, summed per kind:
    "loop" (the main thread), "guest" (guest pool threads), "writer" (the oplog writer),
    "other". Linux only; empty elsewhere."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for t in threading.enumerate():
        try:
            with open(f"/proc/self/task/{t.native_id}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, TypeError):
            continue
        kind = ("loop" if t is threading.main_thread() else "guest" if t.name.startswith("golemite-guest")
                else "writer" if t.name == "oplog-writer" else "other")
        out[kind] = out.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"golemite-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@asynccontextmanager
async def executor(data_dir: Path | None = None, durability: str = "sync", **config: Any) -> AsyncIterator[Any]:
    """A started executor on a fresh temp data dir (or `data_dir`), closed afterwards."""
    from executor import Executor, ExecutorConfig

    with temp_dir("ex") as tmp:
        ex = Executor(data_dir or tmp / "data", durability=durability, config=ExecutorConfig(**config))
        await ex.start()
        try:
            yield ex
        finally:
            await ex.close()


async def add_template(ex: Any, name: str) -> str:
    from executor import DEFAULT_ACCOUNT

    record, _ = await ex.templates.add(DEFAULT_ACCOUNT, name, guest_bytes(name))
    return record.template_id


class Deadline:
    """Bounds a loop by wall time; `left()` is how much is left."""

    def __init__(self, seconds: float):
        self.end = time.perf_counter() + seconds

    def left(self) -> float:
        return self.end - time.perf_counter()

    def passed(self) -> bool:
        return time.perf_counter() >= self.end


def env_for_child() -> dict[str, str]:
    """Environment for a Python subprocess that must import this project."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env
