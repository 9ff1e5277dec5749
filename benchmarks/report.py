"""Turns scenario results into the markdown table and the throughput plot."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from importlib.metadata import version
from pathlib import Path
from typing import Any


def machine() -> str:
    return (f"{os.cpu_count()} cores, {platform.machine()}, Linux {platform.release()}, "
            f"Python {platform.python_version()}, wasmtime {version('wasmtime')}")


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1000:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.6g}" if abs(value) >= 1000 else f"{value:.3g}"
    return str(value)


# A ratio against a baseline whose rate moved more than this within the run (fastest
# slice / slowest) measures the machine's spells more than the code: such a run's goal
# is shown as not counted. This machine's slow spells halve a single-threaded loop
# while golemite, which also waits for the disk, slows less.
STEADY_SPREAD = 1.4  # usual runs here: 1.07-1.25; a slow spell: 1.7


def goal_text(goal: dict[str, Any]) -> str:
    text = f"{goal['goal']}: {'met' if goal['met'] else '**missed**'}"
    spread = goal.get("baseline_spread")
    if spread is not None and spread > STEADY_SPREAD:
        text += f" (not counted: the baseline moved {spread:.2f}x within the run)"
    return text


def table(results: list[dict[str, Any]]) -> str:
    """One row per figure: its value, its baseline and figure/baseline, and the goal if it has one."""
    lines = ["| scenario | figure | value | baseline | ratio | goal |", "|---|---|---|---|---|---|"]
    for r in results:
        if r.get("error"):
            lines.append(f"| {r['scenario']} | error | {r['error']} | | | |")
            continue
        for name, value in r["figures"].items():
            goal = r.get("goals", {}).get(name)
            text = goal_text(goal) if goal else ""
            lines.append(f"| {r['scenario']} | {name} | {_fmt(value)} | {_fmt(r['baseline'].get(name))} "
                         f"| {_fmt(r['ratio'].get(name))} | {text} |")
    return "\n".join(lines)


def revision() -> str:
    """The commit measured, marked when the working tree had changes (others edit it too)."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown commit"
    return f"commit {head}" + (" with uncommitted changes" if dirty else "")


def load_average() -> str:
    """The 1-minute load average: other work on a 2-core machine moves every figure."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "unknown"


def document(results: list[dict[str, Any]], quick: bool, load_before: str = "") -> str:
    when = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    mode = "quick" if quick else "full"
    load = f"load average {load_before} before, {load_average()} after" if load_before else \
        f"load average {load_average()}"
    return (f"# golemite benchmarks ({mode} run)\n\n{when}; {machine()}; {load}; {revision()}.\n"
            f"Scenarios run on uvloop, the event loop of `golemite serve`.\n"
            f"ratio = value / baseline; baselines are measured in the same run.\n\n{table(results)}\n")


def plot(results: list[dict[str, Any]], path: Path) -> bool:
    """Throughput and latency against concurrency from the invoke (and http) scenarios."""
    invoke = next((r for r in results if r["scenario"] == "invoke" and not r.get("error")), None)
    if invoke is None:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figs = invoke["figures"]
    levels = sorted(int(k.split("@")[1]) for k in figs
                    if k.startswith("calls_per_s@") and k.split("@")[1].isdigit())
    rate = [figs[f"calls_per_s@{n}"] for n in levels]
    p50 = [figs[f"p50_ms@{n}"] for n in levels]
    p99 = [figs[f"p99_ms@{n}"] for n in levels]
    raw = invoke["baseline"].get(f"calls_per_s@{levels[0]}")
    http = next((r for r in results if r["scenario"] == "http" and not r.get("error")), None)

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.plot(levels, rate, "o-", label="golemite invoke-and-await (in process)")
    if raw:
        left.axhline(raw, color="grey", linestyle="--", label="raw wasmtime call loop")
        left.axhline(0.3 * raw, color="grey", linestyle=":", label="goal: 30% of raw")
    nosync = [(int(k.split("@")[1].split("_")[0]), v) for k, v in figs.items()
              if k.startswith("calls_per_s@") and k.endswith("_durability_none")]
    if nosync:
        left.plot(*zip(*nosync), "^", label="same, durability none (no fsync)")
    right.plot(levels, p99, "o-", label="p99 (in process)")
    right.plot(levels, p50, "s--", label="p50 (in process)")
    if http is not None:
        clients = http["params"].get("clients", 32)
        left.plot([clients], [http["figures"]["req_per_s"]], "D", label="golemite over HTTP")
        left.plot([clients], [http["baseline"]["req_per_s"]], "x", color="black", label="bare aiohttp endpoint")
        right.plot([clients], [http["figures"]["p99_ms"]], "D", label="p99 over HTTP")
    ticks = sorted(set(levels) | ({http["params"].get("clients", 32)} if http is not None else set()))
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel("concurrent workers (clients)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    left.set_yscale("log")
    left.set_ylabel("calls/s")
    left.set_title("throughput (sync durability)")
    right.set_ylabel("latency (ms)")
    right.set_title("latency")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
