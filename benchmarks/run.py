"""Run the benchmark scenarios one after another: `python -m benchmarks.run [--quick] [--only a,b]`.

Each scenario prints one JSON line {"scenario", "params", "figures", "baseline",
"ratio", "goals"}; the run ends with a markdown table, also written to
benchmarks/out/latest.md, and a plot in benchmarks/out/throughput.png. Scenarios run
in turn, each on a fresh event loop (uvloop, as `golemite serve` runs) and temp data
dir: the machine has only 2 cores, and overlapping measurements would disturb each other.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from pathlib import Path

from .common import run_on_daemon_loop

OUT = Path(__file__).resolve().parent / "out"

# name -> module with `async def scenario(quick) -> Result`, in the order they run.
SCENARIOS = {
    "invoke": "benchmarks.bench_invoke",
    "http": "benchmarks.bench_http",
    "appends": "benchmarks.bench_appends",
    "durability": "benchmarks.bench_durability",
    "replay": "benchmarks.bench_replay",
    "coldstart": "benchmarks.bench_coldstart",
    "memory": "benchmarks.bench_memory",
    "suspend": "benchmarks.bench_suspend",
}


def _selected(only: str | None) -> list[str]:
    if not only:
        return list(SCENARIOS)
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    return [n for n in SCENARIOS if n in names]


def run_one(name: str, quick: bool) -> dict:
    started = time.perf_counter()
    try:
        module = importlib.import_module(SCENARIOS[name])
        out = run_on_daemon_loop(module.scenario(quick)).to_json()
    except Exception as e:  # noqa: BLE001 - one broken scenario must not hide the others' figures
        traceback.print_exc(file=sys.stderr)
        out = {"scenario": name, "params": {}, "figures": {}, "baseline": {}, "ratio": {}, "goals": {},
               "error": f"{type(e).__name__}: {e}"}
    out["params"]["elapsed_s"] = round(time.perf_counter() - started, 2)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller and shorter: under a minute in all")
    ap.add_argument("--only", default=None, help=f"comma-separated subset of: {', '.join(SCENARIOS)}")
    ap.add_argument("--out", type=Path, default=OUT, help="where latest.md and throughput.png go")
    args = ap.parse_args(argv)
    names = _selected(args.only)

    from .common import quiet_logs
    from .report import document, load_average, plot

    quiet_logs()
    load_before = load_average()
    results = []
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        result = run_one(name, args.quick)
        results.append(result)
        print(json.dumps(result, allow_nan=False), flush=True)
    doc = document(results, args.quick, load_before)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.md").write_text(doc)
    print()
    print(doc, flush=True)
    if plot(results, args.out / "throughput.png"):
        print(f"plot written to {args.out / 'throughput.png'}", file=sys.stderr)
    return 1 if any(r.get("error") for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
