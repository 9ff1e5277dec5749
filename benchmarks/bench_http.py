"""Scenario 2: HTTP invoke-and-await against the real daemon, beside a bare aiohttp endpoint.

32 closed-loop clients over 16 counter workers (client i calls worker i % 16), each
server on loopback in its own subprocess; the load generator runs in this process.
Issue goal: golemite reaches at least 50% of the bare endpoint's throughput.
A second daemon with durability "none" (no fsync) shows how much of the gap is the
disk. The three servers run side by side and are loaded in alternating slices, so
that the speed of this shared machine, which drifts by tens of percent within a
minute, weighs on each figure alike.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from .common import COUNTER, ROOT, Result, env_for_child, free_port, guest_bytes, run_alone, temp_dir
from .loadgen import LoadResult, Target, merge, run_load

TOKEN = "bench-token"
CLIENTS = 32
WORKERS = 16
GOAL_RATIO = 0.5


class Server:
    """A server subprocess on a free loopback port, stopped with SIGTERM (then SIGKILL)."""

    def __init__(self, args: list[str], log_path: Path, env: dict[str, str] | None = None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, *[a.replace("{port}", str(self.port)) for a in args]],
                                     cwd=ROOT, env=env or env_for_child(), stdout=self._log, stderr=self._log)

    async def ready(self, session: aiohttp.ClientSession, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode} during start")
            try:
                async with session.get(self.base + "/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
        raise RuntimeError("server did not answer /healthz in time")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()
        return self.proc.returncode


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


async def _upload_counter(session: aiohttp.ClientSession, base: str) -> str:
    form = aiohttp.FormData()
    form.add_field("name", "counter")
    form.add_field("template", guest_bytes("counter"), filename="counter.wasm",
                   content_type="application/wasm")
    async with session.post(base + "/v1/templates", data=form, headers=_auth()) as r:
        body = await r.json()
        if r.status != 200:
            raise RuntimeError(f"template upload failed: {r.status} {body}")
        return body["versionedTemplateId"]["rawTemplateId"]


def _targets(base: str, tid: str) -> list[Target]:
    fn = f"{COUNTER}/increment"
    return [Target.with_json(f"{base}/v1/templates/{tid}/workers/w{i}/invoke-and-await?function={fn}",
                             {"params": []}, headers=_auth()) for i in range(WORKERS)]


async def _first_calls(session: aiohttp.ClientSession, targets: list[Target]) -> None:
    """One call per worker creates and instantiates it: cold start, not throughput.

    One call each, not two racing ones: concurrent first calls of one new worker are
    what the warm-up should not depend on.
    """
    async def call(t: Target) -> None:
        async with session.request(t.method, t.url, data=t.body, headers=t.headers) as r:
            if r.status != 200:
                raise RuntimeError(f"first call failed: {r.status} {await r.text()}")

    await asyncio.gather(*(call(t) for t in targets))


async def _load(targets: list[Target], seconds: float):
    return await run_load(lambda i: targets[i % len(targets)], clients=CLIENTS, seconds=seconds,
                          max_requests=500_000)


async def _start_daemon(session: aiohttp.ClientSession, tmp: Path, durability: str) -> tuple[Server, list[Target]]:
    env = {**env_for_child(), "GOLEMITE_TOKEN": TOKEN}
    daemon = Server(["-m", "api.cli", "serve", "--port", "{port}", "--data-dir", str(tmp / f"data-{durability}"),
                     "--log-format", "json", "--durability", durability], tmp / f"daemon-{durability}.log", env)
    try:
        await daemon.ready(session)
        tid = await _upload_counter(session, daemon.base)
        targets = _targets(daemon.base, tid)
        await _first_calls(session, targets)
    except BaseException:
        daemon.stop()
        raise
    return daemon, targets


async def _interleaved(targets: dict[str, list[Target]], seconds: float,
                       slices: int) -> tuple[dict[str, LoadResult], dict[str, list[float]]]:
    """Load each server in turn, `slices` times, each slice a share of `seconds`.

    The servers' figures are taken in alternating slices, so that a slower or faster
    spell of this shared machine falls on all of them alike; each round starts with
    another server.
    """
    for ts in targets.values():
        await _load(ts, 0.3)  # warm the connection pool and the server
    names = list(targets)
    parts: dict[str, list[LoadResult]] = {name: [] for name in names}
    for k in range(slices):
        for name in names[k % len(names):] + names[:k % len(names)]:
            parts[name].append(await _load(targets[name], seconds / slices))
    merged = {name: merge(results) for name, results in parts.items()}
    return merged, {name: [r.throughput for r in results] for name, results in parts.items()}


async def scenario(quick: bool = False) -> Result:
    seconds = 2.0 if quick else 6.0
    slices = 2 if quick else 6
    result = Result("http", {"clients": CLIENTS, "workers": WORKERS, "seconds": seconds, "slices": slices,
                             "durability": "sync", "function": f"{COUNTER}/increment",
                             "event_loop": "uvloop (both servers)",
                             "baseline": "bare aiohttp endpoint parsing the same body, own subprocess; "
                                         "the servers are loaded in alternating slices"})
    with temp_dir("http") as tmp:
        async with aiohttp.ClientSession() as session:
            servers: list[Server] = []
            try:
                bare = Server(["-m", "benchmarks.bare_server", "--port", "{port}"], tmp / "bare.log")
                servers.append(bare)
                await bare.ready(session)
                targets = {"bare": _targets(bare.base, "00000000-0000-0000-0000-000000000000")}
                for durability in ("sync", "none"):
                    daemon, targets[durability] = await _start_daemon(session, tmp, durability)
                    servers.append(daemon)
                loads, slice_rates = await _interleaved(targets, seconds, slices)
            finally:
                codes = [server.stop() for server in servers]
    base, ours, nosync = loads["bare"], loads["sync"], loads["none"]
    result.params["daemon_exit_code"] = codes[1]
    result.compare("req_per_s", ours.throughput, base.throughput)
    result.compare("p50_ms", ours.p50_ms, base.p50_ms)
    result.compare("p99_ms", ours.p99_ms, base.p99_ms)
    result.compare("errors", ours.errors, base.errors)
    result.compare("req_per_s_durability_none", nosync.throughput, base.throughput)
    result.goal("req_per_s", f">= {GOAL_RATIO:.0%} of bare", result.ratio.get("req_per_s", 0) >= GOAL_RATIO,
                baseline_slices=slice_rates["bare"])
    return result


def main(argv: list[str] | None = None) -> int:
    return run_alone(scenario, __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
