"""Scenario 6: cold starts, each beside the same step under plain wasmtime.

- upload to first result: add the counter template (compile, metadata, store) and get
  the first `increment` result of a new worker; baseline: compile + instantiate + call.
- first invoke of a new worker of a loaded template (create, instantiate, call);
  baseline: instantiate + call of a compiled component.
- a restart's first invoke of an existing worker (load the template, replay its short
  log, call), with the compile cache and without it (`<data_dir>/compiled` deleted);
  baselines: deserialize + instantiate + call, and compile + instantiate + call.
Medians of a few repetitions; every step runs under sync durability.
"""

from __future__ import annotations

import shutil
import time

from wasmtime import Engine
from wasmtime import component as cm

from .common import COUNTER, Result, executor, guest_bytes, guest_path, median, run_alone, temp_dir
from . import raw

INC = f"{COUNTER}/increment"


async def _timed(coro) -> float:
    t0 = time.perf_counter()
    await coro
    return time.perf_counter() - t0


def _raw_baselines(repeats: int) -> dict[str, float]:
    engine = Engine()
    component = cm.Component.from_file(engine, str(guest_path("counter")))
    with temp_dir("raw-cache") as tmp:
        cached = tmp / "counter.cwasm"
        cached.write_bytes(bytes(component.serialize()))
        return {
            "compile": median([raw.compile_to_first_result(engine) for _ in range(repeats)]),
            "instantiate": median([raw.instantiate_to_first_result(engine, component) for _ in range(repeats)]),
            "deserialize": median([raw.deserialize_to_first_result(engine, cached) for _ in range(repeats)]),
        }


async def scenario(quick: bool = False) -> Result:
    from executor import DEFAULT_ACCOUNT

    repeats = 3 if quick else 7
    result = Result("coldstart", {"guest": "counter", "repeats": repeats, "durability": "sync",
                                  "statistic": "median", "baseline": "the same steps under plain wasmtime"})
    base = _raw_baselines(repeats)
    wasm = guest_bytes("counter")
    upload, new_worker, cached, uncached, opens = [], [], [], [], []
    with temp_dir("coldstart") as tmp:
        data = tmp / "data"
        async with executor(data) as ex:
            for i in range(repeats):
                t0 = time.perf_counter()
                record, _ = await ex.templates.add(DEFAULT_ACCOUNT, f"counter-{i}", wasm)
                await ex.invoke_and_await(DEFAULT_ACCOUNT, record.template_id, "first", INC, [])
                upload.append(time.perf_counter() - t0)
            tid = record.template_id
            for i in range(repeats):
                new_worker.append(await _timed(ex.invoke_and_await(DEFAULT_ACCOUNT, tid, f"new-{i}", INC, [])))
            for _ in range(5):
                await ex.invoke_and_await(DEFAULT_ACCOUNT, tid, "restart", INC, [])
        for i in range(2 * repeats):
            with_cache = i % 2 == 0
            if not with_cache:
                shutil.rmtree(data / "compiled", ignore_errors=True)
            t0 = time.perf_counter()
            async with executor(data) as ex:
                opens.append(time.perf_counter() - t0)
                took = await _timed(ex.invoke_and_await(DEFAULT_ACCOUNT, tid, "restart", INC, []))
            (cached if with_cache else uncached).append(took)
    result.compare("upload_to_first_result_ms", median(upload) * 1e3, base["compile"] * 1e3)
    result.compare("new_worker_first_invoke_ms", median(new_worker) * 1e3, base["instantiate"] * 1e3)
    result.compare("restart_first_invoke_cached_ms", median(cached) * 1e3, base["deserialize"] * 1e3)
    result.compare("restart_first_invoke_uncached_ms", median(uncached) * 1e3, base["compile"] * 1e3)
    result.compare("restart_open_ms", median(opens) * 1e3, None)
    return result


def main(argv: list[str] | None = None) -> int:
    return run_alone(scenario, __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
