"""`golemite serve`: bootstraps the data dir, runs the HTTP daemon, drains on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import socket
from pathlib import Path

import structlog
from aiohttp import web

from executor import DEFAULT_ACCOUNT, TOKEN_FILE, Accounts, Executor, ExecutorConfig
from oplog.native import status as native_status

from . import logging as golemite_logging
from .app import create_app

log = structlog.get_logger("golemite.serve")


def bootstrap_account(accounts: Accounts, data_dir: Path) -> str:
    """Make sure the default account exists; return its token (SPEC §1)."""
    fixed = os.environ.get("GOLEMITE_TOKEN")
    token_file = data_dir / TOKEN_FILE
    if accounts.find(DEFAULT_ACCOUNT) is None:
        _, token = accounts.create(DEFAULT_ACCOUNT, fixed)
    elif fixed:
        accounts.add_token(DEFAULT_ACCOUNT, fixed)
        token = fixed
    else:
        token = token_file.read_text().strip() if token_file.exists() else ""
    if token:
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
        os.chmod(token_file, 0o600)
    return token


async def ensure_demo_template(executor: Executor, spec: str) -> str | None:
    name, _, path = spec.partition("=")
    if not path:
        raise SystemExit(f"--demo-template wants NAME=PATH, got {spec!r}")
    existing = executor.templates.list(DEFAULT_ACCOUNT, name)
    if existing:
        return existing[0].template_id
    record, _ = await executor.templates.add(DEFAULT_ACCOUNT, name, Path(path).read_bytes())
    return record.template_id


async def serve(args) -> int:
    # JSON lines logged on the loop's thread are written once per turn of the loop, and
    # all of them when serving ends, however it ends.
    golemite_logging.attach_loop(asyncio.get_running_loop())
    try:
        return await _serve(args)
    finally:
        golemite_logging.detach_loop()


def lock_data_dir(data_dir: Path) -> None:
    """Hold an exclusive lock on the data dir for as long as this process lives (its
    descriptor is left open on purpose: closing it would release the lock).

    LMDB lets a second process open the environment, and a second daemon on the same data
    dir would serve beside the first with its own view of every worker: each appending to
    the same oplogs from its own idea of their ends, acknowledged entries overwritten.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / "daemon.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise DataDirInUse(f"another golemite daemon (pid {holder}) is serving {data_dir}") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)


class DataDirInUse(Exception):
    pass


def listening_socket(host: str, port: int) -> socket.socket:
    """Bind the daemon's port before anything else starts, so that a port in use is told at
    once (not after recovering every worker), and early clients wait in the backlog."""
    family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                  flags=socket.AI_PASSIVE)[0]
    return socket.create_server(address, family=family, backlog=1024)


async def _serve(args) -> int:
    data_dir = Path(args.data_dir)
    try:
        lock_data_dir(data_dir)
    except DataDirInUse as e:
        log.error("cannot start", error=str(e))
        return 1
    except OSError as e:
        log.error("cannot start", error=f"cannot use the data dir {data_dir}: {e.strerror or e}")
        return 1
    try:
        sock = listening_socket(args.host, args.port)
    except OSError as e:
        log.error("cannot start", error=f"cannot listen on {args.host}:{args.port}: {e.strerror or e}")
        return 1
    config = ExecutorConfig(
        max_live_workers=args.max_live_workers, max_workers_per_account=args.max_workers_per_account,
        max_memory_mb=args.max_memory_mb, max_invocation_seconds=args.max_invocation_seconds,
        guest_threads=args.guest_threads, thread_policy=args.thread_policy,
    )
    executor = Executor(data_dir, durability=args.durability, config=config)
    token = bootstrap_account(Accounts(executor.store), data_dir)
    log.info("default account ready", token=token, token_file=str(data_dir / TOKEN_FILE))
    demo = None
    if args.demo_template:
        demo = await ensure_demo_template(executor, args.demo_template)
    await executor.start()
    app = create_app(executor, invoke_timeout=args.invoke_timeout, max_body_bytes=args.max_body_bytes)
    # In-flight requests get a short grace period at shutdown: the executor has already
    # answered them (or stopped their invocations durably) by the time the runner stops.
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=3.0)
    await runner.setup()
    site = web.SockSite(runner, sock)
    await site.start()
    base = f"http://{args.host}:{args.port}"
    log.info("golemite serving", url=base, data_dir=str(data_dir), durability=args.durability,
             event_loop=type(asyncio.get_running_loop()).__module__.partition(".")[0],
             hot_modules=native_status()[1])
    if demo:
        print(f"\ngolemite is serving on {base}\n  token:    {token}\n  template: shopping-cart = {demo}\n"
              f"Try:\n  curl -s -X POST -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\\n"
              f"    -d '{{\"params\": [\"user-1\"]}}' \\\n"
              f"    '{base}/v1/templates/{demo}/workers/cart-1/invoke-and-await?function=golem:it/api/initialize-cart'\n",
              flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping: no new requests, draining invocations")
    await site.stop()
    await executor.close()
    await runner.cleanup()
    log.info("stopped")
    return 0
