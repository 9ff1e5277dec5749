"""A small closed-loop HTTP load generator (aiohttp), usable against any target.

N clients each send one request, wait for the answer, and send the next, until a
request count or a time limit is reached, whichever comes first. The result holds
throughput, latency percentiles and status counts.

    python -m benchmarks.loadgen http://127.0.0.1:8080/path --clients 32 --seconds 5 \
        --json '{"params": []}' --header 'Authorization: Bearer T'
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import aiohttp


@dataclass(frozen=True)
class Target:
    """One request to send. `body` is sent as is; `json` is encoded once, up front."""

    url: str
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None

    @classmethod
    def with_json(cls, url: str, payload: Any, method: str = "POST", headers: dict[str, str] | None = None):
        return cls(url, method, {"Content-Type": "application/json", **(headers or {})},
                   json.dumps(payload).encode())


@dataclass
class LoadResult:
    requests: int          # answered with an expected status
    errors: int            # other statuses and failed connections
    seconds: float
    throughput: float      # answered requests per second
    p50_ms: float | None   # None when nothing was answered
    p90_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    statuses: dict[str, int]
    latencies: list[float] = field(default_factory=list, repr=False)  # seconds, sorted

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        del out["latencies"]
        return out


def _result(latencies: list[float], errors: int, elapsed: float, statuses: dict[str, int]) -> LoadResult:
    latencies.sort()
    return LoadResult(
        requests=len(latencies), errors=errors, seconds=elapsed,
        throughput=len(latencies) / elapsed if elapsed > 0 else 0.0,
        p50_ms=_pct_ms(latencies, 50), p90_ms=_pct_ms(latencies, 90), p99_ms=_pct_ms(latencies, 99),
        max_ms=_pct_ms(latencies, 100), statuses=statuses, latencies=latencies)


def merge(results: list[LoadResult]) -> LoadResult:
    """One result for several runs against the same target (e.g. slices interleaved with others)."""
    statuses: Counter[str] = Counter()
    for r in results:
        statuses.update(r.statuses)
    return _result([x for r in results for x in r.latencies], sum(r.errors for r in results),
                   sum(r.seconds for r in results), dict(statuses))


def _pct_ms(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1] * 1e3


async def run_load(targets: Callable[[int], Target] | Target, *, clients: int, seconds: float,
                   max_requests: int = 1_000_000, ok_status: tuple[int, ...] = (200,),
                   timeout: float = 60.0) -> LoadResult:
    """Drive `clients` concurrent closed-loop clients; `targets(client_index)` picks each client's request.

    Stops when `max_requests` requests were sent or `seconds` have passed; requests in
    flight at the time limit are awaited and counted.
    """
    pick = targets if callable(targets) else (lambda _i: targets)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    errors = 0
    sent = 0
    connector = aiohttp.TCPConnector(limit=clients, force_close=False)
    session_timeout = aiohttp.ClientTimeout(total=timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=session_timeout) as session:
        end = time.perf_counter() + seconds

        async def client(i: int) -> None:
            nonlocal errors, sent
            target = pick(i)
            while sent < max_requests and time.perf_counter() < end:
                sent += 1
                t0 = time.perf_counter()
                try:
                    async with session.request(target.method, target.url, data=target.body,
                                               headers=target.headers) as resp:
                        await resp.read()
                        status = resp.status
                except (aiohttp.ClientError, asyncio.TimeoutError) as e:
                    statuses[type(e).__name__] += 1
                    errors += 1
                    continue
                statuses[str(status)] += 1
                if status in ok_status:
                    latencies.append(time.perf_counter() - t0)
                else:
                    errors += 1

        start = time.perf_counter()
        await asyncio.gather(*(client(i) for i in range(clients)))
        elapsed = time.perf_counter() - start
    return _result(latencies, errors, elapsed, dict(statuses))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url")
    ap.add_argument("--method", default="POST")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--requests", type=int, default=1_000_000, help="stop after this many requests")
    ap.add_argument("--json", default=None, help="JSON body to send")
    ap.add_argument("--header", action="append", default=[], metavar="NAME: VALUE")
    args = ap.parse_args(argv)
    headers = dict(h.split(":", 1) for h in args.header)
    headers = {k.strip(): v.strip() for k, v in headers.items()}
    if args.json is not None:
        target = Target.with_json(args.url, json.loads(args.json), args.method, headers)
    else:
        target = Target(args.url, args.method, headers)
    result = asyncio.run(run_load(target, clients=args.clients, seconds=args.seconds, max_requests=args.requests))
    print(json.dumps(result.to_json()), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
