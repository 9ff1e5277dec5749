"""The executor facade: templates, workers, invocations, promises, recovery.

This is the asyncio-facing API the HTTP layer calls. Guest code runs on a bounded pool
of threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from oplog import (
    DEFAULT_THREAD_POLICY, CompletePromise, Create, CreatePromise, ExportedFunctionCompleted, Interrupted,
    InvocationKeyRecord, OplogStore, PendingWorkerInvocation, PromiseRecord, Resume, WorkerExists, WorkerRecord,
    promise_key, recordable, worker_keys_key,
)

from .datadir import STORE_DIR
from .codec import ValueMismatch, lower_params
from .engine import EpochTicker, new_engine
from .forgetting import sweep
from .guest_pool import GuestPool
from .inbox import LoopInbox
from .errors import AlreadyExists, InvalidRequest, InvocationFailed, InvocationTimeout, LimitExceeded, NotFound
from .host import build_linker, needs_native_io
from .host import wasi as host_wasi
from .instance import Invocation
from .templates import LoadedTemplate, TemplateStore
from .warmup import warm_up
from .worker import EXITED, FAILED, INTERRUPTED, RETRYING, RUNNING, SUSPENDED, Worker
from .worker_log import LogBurst

log = structlog.get_logger(__name__)

WORKER_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,99}$")
CONVENTIONS = ("component", "stdio")
_TAIL_CHUNK = 64  # entries read at a time when looking back through a log from its end
_MAX_KEY_CHARS = 100  # keys are uuids (36); 100 characters stay under LMDB's 511-byte key limit
UNFINISHED = (RUNNING, RETRYING, SUSPENDED)


@dataclass
class ExecutorConfig:
    max_live_workers: int = 1000
    max_workers_per_account: int = 10_000
    max_memory_mb: int = 256
    max_invocation_seconds: float = 0        # 0: no wall-time limit
    guest_threads: int = 16                  # woken only as needed (see guest_pool.py)
    thread_policy: str = DEFAULT_THREAD_POLICY  # of the helper threads (see oplog/scheduling.py)
    short_sleep_ns: int = host_wasi.SHORT_SLEEP_NS
    drain_seconds: float = 2.0               # on shutdown, how long running invocations may finish
    # How often worker objects at rest are looked for and forgotten (see forgetting.py),
    # and how many are looked at each time: a few ms of the loop's time at most.
    sweep_seconds: float = 1.0
    sweep_limit: int = 5000


class Runtime:
    """Engine-wide things shared by every worker: engine, linkers, limits."""

    def __init__(self, config: ExecutorConfig):
        self.engine = new_engine()
        self.ticker = EpochTicker(self.engine, thread_policy=config.thread_policy)
        self._linkers: dict[bool, Any] = {}
        self._native_io: dict[tuple[str, int], bool] = {}
        self._lock = threading.Lock()
        self.max_memory_bytes = config.max_memory_mb << 20 if config.max_memory_mb else 0
        self.max_invocation_seconds = config.max_invocation_seconds

    def linker_for(self, template: LoadedTemplate):
        key = (template.template_id, template.version)
        with self._lock:
            native = self._native_io.get(key)
            if native is None:
                native = self._native_io[key] = needs_native_io(self.engine, template.component)
            linker = self._linkers.get(native)
            if linker is None:
                linker = self._linkers[native] = build_linker(self.engine, durable_io=not native)
            return linker

    def close(self) -> None:
        self.ticker.stop()


class Services:
    """What host functions may ask of the executor from a guest thread."""

    def __init__(self, ex: "Executor", short_sleep_ns: int):
        self.ex = ex
        self.short_sleep_ns = short_sleep_ns

    def create_promise(self, state) -> int:
        ident = state.identity
        wlog = self.ex.workers[ident.worker_key].wlog
        tid, name = ident.template_id, ident.worker_name
        idx, _ = wlog.append_then_put(
            CreatePromise(timestamp=time.time_ns()),
            lambda i: (("promises", promise_key(tid, name, i),
                        PromiseRecord(template_id=tid, worker_name=name, oplog_idx=i, state="pending")),))
        # A client may complete it as soon as it learns the index: make it durable first.
        wlog.wait()
        return idx

    def promise_state(self, template_id: str, worker_name: str, idx: int) -> tuple[bool, bytes]:
        rec = self.ex.store.get("promises", promise_key(template_id, worker_name, idx))
        if rec is None:
            raise ValueError(f"promise {idx} of worker {template_id}/{worker_name} does not exist")
        return rec.state == "complete", rec.data or b""

    def complete_promise(self, account_id, template_id, worker_name, idx, data) -> bool:
        loop = self.ex.loop
        assert loop is not None, "the executor is started before guests run"
        fut = asyncio.run_coroutine_threadsafe(
            self.ex.complete_promise(account_id, template_id, worker_name, idx, data), loop)
        return fut.result()

    def delete_promise(self, template_id, worker_name, idx) -> None:
        key = promise_key(template_id, worker_name, idx)
        worker = self.ex.workers.get(f"{template_id}/{worker_name}")
        if worker is not None:  # through its log, so it is ordered after the row's creation
            worker.wlog.delete("promises", key)
        else:
            batch = self.ex.store.batch()
            batch.delete("promises", key)
            self.ex.store.submit(batch)

    def last_oplog_index(self, state) -> int:
        """The index of the last entry of the worker's log, appends not yet durable included."""
        return self.ex.store.last_index(state.identity.worker_key)

    def threads_scarce(self) -> bool:
        return self.ex.pool.scarce()

    def retry_policy_changed(self, state, policy) -> None:
        worker = self.ex.workers.get(state.identity.worker_key)
        if worker is not None:
            worker.retry_policy = policy


class Executor:
    def __init__(self, data_dir: str | Path, *, durability: str = "sync", config: ExecutorConfig | None = None):
        warm_up()  # before any guest thread encodes an entry (see warmup.py)
        self.config = config or ExecutorConfig()
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = OplogStore(self.data_dir / STORE_DIR, durability=durability,
                                thread_policy=self.config.thread_policy)
        self.store.index_worker_keys()  # a store from before the per-worker key index
        self.runtime = Runtime(self.config)
        self.templates = TemplateStore(self.store, self.runtime.engine, self.data_dir / "compiled")
        self.services = Services(self, self.config.short_sleep_ns)
        self.pool = GuestPool(self.config.guest_threads, make_burst=lambda: LogBurst(self.store),
                              thread_policy=self.config.thread_policy)
        self.workers: dict[str, Worker] = {}
        self._live: OrderedDict[str, Worker] = OrderedDict()
        self.metrics: dict[str, float] = defaultdict(float)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.inbox: LoopInbox | None = None
        self._completing: dict[str, set[int]] = {}   # promise completions under way, per worker
        self._closed = False
        self._counts: dict[str, int] | None = None
        self.closing = False                          # set once draining gives up: stop guests
        self._sweeper: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Bind to the running loop and continue every worker with unfinished work."""
        self.loop = asyncio.get_running_loop()
        self.inbox = LoopInbox(self.loop)
        recovered = 0
        for key, rec in self.store.scan("workers"):
            if rec.status in UNFINISHED or rec.pending_count > 0 or self._invocation_in_flight(key, rec):
                worker = self._worker_from_record(rec)
                worker.resume_requested = True
                worker.kick()
                recovered += 1
        if recovered:
            log.info("recovering workers with unfinished work", count=recovered)
        self._sweeper = self.loop.call_later(self.config.sweep_seconds, self._sweep_periodically)

    def _sweep_periodically(self) -> None:
        self.sweep_workers()
        if not self._closed:
            loop = self.loop
            assert loop is not None  # set by start(), which scheduled this
            self._sweeper = loop.call_later(self.config.sweep_seconds, self._sweep_periodically)

    def sweep_workers(self) -> int:
        """Forget worker objects at rest that nothing refers to (see forgetting.py); returns how many."""
        if len(self.workers) <= len(self._live):
            return 0  # every object has an instance: none is at rest
        forgotten = sweep(self.workers, self.config.sweep_limit, self.store.forget_log)
        self.metrics["workers_forgotten"] += forgotten
        return forgotten

    def live_count(self) -> int:
        """Workers with an instance in memory."""
        return len(self._live)

    def _invocation_in_flight(self, key: str, rec: WorkerRecord) -> bool:
        """Did the worker stop inside an invocation? Its row is not rewritten per call, the log tells."""
        if rec.status in (FAILED, EXITED):
            return False
        last = self.store.committed_last_index(key)
        if rec.status == INTERRUPTED:
            return self._resumed_since_interrupted(key, last)
        if last <= 1:
            return False
        entry = self.store.read(key, last, 1)[0][1]
        return not isinstance(entry, (ExportedFunctionCompleted, Create))

    def _resumed_since_interrupted(self, key: str, last: int) -> bool:
        """A worker whose row says Interrupted was resumed if a Resume entry follows its
        last Interrupted entry: /resume answers once that entry is durable, before the
        resumed run has changed the row, and a crash in between must not lose it."""
        end = last
        while end >= 1:
            start = max(1, end - _TAIL_CHUNK + 1)
            for _, entry in reversed(self.store.read(key, start, end - start + 1)):
                if isinstance(entry, (Resume, Interrupted)):
                    return isinstance(entry, Resume)
            end = start - 1
        return False

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        # A worker waiting out a retry's delay runs nothing: it is not waited for (the
        # next start waits out what is left of the delay).
        tasks = [b for w in self.workers.values() if w.retry_wait is None and (b := w.busy()) is not None]
        if tasks:
            # Let running invocations finish for a moment, then stop the rest: each is
            # continued from its oplog on the next start.
            await asyncio.wait(tasks, timeout=self.config.drain_seconds)
        self.closing = True
        for w in list(self.workers.values()):
            if w.timer is not None:
                w.timer.cancel()
            if w.retry_wait is not None and not w.retry_wait.done():
                w.retry_wait.set_result(None)  # its loop sees `closing` and stops
            if w.instance is not None and w.status == RUNNING:
                w.instance.state.should_stop = "shutting down"
        tasks = [b for w in self.workers.values() if (b := w.busy()) is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        for t in tasks:
            t.cancel()
        stopping = InvocationFailed("shutting down: the daemon is stopping; the invocation is continued "
                                    "from its oplog when it starts again (call again with the same invocation key)")
        for w in self.workers.values():
            for inv in list(w.queue) + ([w.current] if w.current else []):
                if inv.future is not None and not inv.future.done():
                    inv.future.set_exception(stopping)
                    inv.future.exception()
        self.pool.shutdown()
        self.runtime.close()
        self.store.close()

    async def run_guest(self, fn, *args):
        return await self.pool.run(self.inbox, fn, *args)

    # ------------------------------------------------------------ live instance LRU

    def touch(self, worker: Worker) -> None:
        self._live[worker.key] = worker
        self._live.move_to_end(worker.key)
        while len(self._live) > self.config.max_live_workers:
            victim = next((w for w in self._live.values() if w.busy() is None), None)
            if victim is None or victim is worker:
                break
            victim.drop_instance()  # rebuilt by replay on next use

    def forget_live(self, worker: Worker) -> None:
        self._live.pop(worker.key, None)

    # ------------------------------------------------------------ workers

    def _worker_from_record(self, rec: WorkerRecord) -> Worker:
        key = f"{rec.template_id}/{rec.worker_name}"
        w = self.workers.get(key)
        if w is None:
            w = self.workers[key] = Worker(self, rec)
        return w

    def _worker_counts(self) -> dict[str, int]:
        """Workers per account, counted from the index once, then kept up to date."""
        if self._counts is None:
            counts: dict[str, int] = {}
            for _, rec in self.store.scan("workers"):
                counts[rec.account_id] = counts.get(rec.account_id, 0) + 1
            self._counts = counts
        return self._counts

    def get_worker(self, account_id: str, template_id: str, worker_name: str) -> Worker:
        key = f"{template_id}/{worker_name}"
        w = self.workers.get(key)
        if w is None:
            rec = self.store.get("workers", key)
            if rec is None:
                raise NotFound(f"worker {template_id}.{worker_name} not found")
            w = self._worker_from_record(rec)
        if w.record.account_id != account_id or w.deleted:
            raise NotFound(f"worker {template_id}.{worker_name} not found")
        return w

    @staticmethod
    def check_name(name: Any) -> str:
        if not isinstance(name, str) or not WORKER_NAME.match(name):
            raise InvalidRequest("worker name must be 1 to 100 characters of [A-Za-z0-9_-], not starting with '-'")
        return name

    @staticmethod
    def check_args_and_env(args: list[str], env: list[tuple[str, str]]) -> None:
        """What the guest will see as its arguments and environment: refuse what it could
        not see as given (a C guest builds NAME=value strings that end at a NUL)."""
        if any("\0" in a for a in args):
            raise InvalidRequest("worker args must not contain NUL characters")
        seen: set[str] = set()
        for name, value in env:
            if not name or "=" in name or "\0" in name:
                raise InvalidRequest(f"env variable name {name!r} must be non-empty, without '=' or NUL")
            if "\0" in value:
                raise InvalidRequest(f"env variable {name!r} must not contain NUL characters")
            if name in seen:
                raise InvalidRequest(f"env variable {name!r} given twice")
            seen.add(name)

    async def create_worker(self, account_id: str, template_id: str, name: str,
                            args: list[str] | None = None, env: list[tuple[str, str]] | None = None) -> Worker:
        """Create a worker; returns once its Create entry is durable."""
        worker = self._register_worker(account_id, template_id, name, args, env)
        created = worker.wlog.last
        assert created is not None  # the Create entry's commit
        await created
        return worker

    def _register_worker(self, account_id: str, template_id: str, name: str,
                         args: list[str] | None = None, env: list[tuple[str, str]] | None = None) -> Worker:
        """Submit a new worker's Create and register the worker at once, without waiting."""
        self.check_name(name)
        args = list(args or [])
        env = [(k, v) for k, v in (env or [])]
        self.check_args_and_env(args, env)
        template = self.templates.get_record(account_id, template_id)
        counts = self._worker_counts()
        if counts.get(account_id, 0) >= self.config.max_workers_per_account:
            raise LimitExceeded(f"account has reached its limit of {self.config.max_workers_per_account} workers")
        key = f"{template_id}/{name}"
        now = time.time_ns()
        rec = WorkerRecord(template_id=template_id, worker_name=name, template_version=template.latest_version,
                           account_id=account_id, args=args, env=env,
                           created_at=now)
        batch = self.store.batch()
        try:
            batch.create_log(key)
            batch.append(key, Create(timestamp=now, template_id=template_id, template_version=template.latest_version,
                                     worker_name=name, account_id=account_id, args=rec.args, env=rec.env))
            batch.put("workers", key, rec)
            commit = self.store.submit(batch)
        except WorkerExists:
            raise AlreadyExists(f"worker {name} already exists for template {template_id}") from None
        # Known at once, before the commit lands: a concurrent first call finds this worker
        # instead of racing to create a second one. Its entries follow Create in the log, so
        # nothing about it can become durable before its Create does.
        counts[account_id] = counts.get(account_id, 0) + 1
        worker = self.workers[key] = Worker(self, rec)
        worker.wlog.last = commit
        return worker

    def get_or_create(self, account_id: str, template_id: str, name: str) -> Worker:
        """The worker, created on first use (SPEC §4: invoking a missing worker creates it).

        Not waiting for the Create to be durable: whatever the caller does next with the
        worker is logged after it, and its instance is built only from a durable log. So
        the first call goes into the queue before a second one that arrives while the
        Create commits, and concurrent first calls run in the order they came.
        """
        try:
            return self.get_worker(account_id, template_id, name)
        except NotFound:
            self.templates.get_record(account_id, template_id)
            try:
                return self._register_worker(account_id, template_id, name)
            except AlreadyExists:  # its log is still being deleted, say
                return self.get_worker(account_id, template_id, name)

    def list_workers(self, account_id: str, template_id: str) -> list[WorkerRecord]:
        self.templates.get_record(account_id, template_id)
        out = []
        for key, rec in self.store.scan("workers", prefix=f"{template_id}/"):
            w = self.workers.get(key)
            if w is not None and not w.deleted:
                rec = w.shown_record()
            if rec.account_id == account_id:
                out.append(rec)
        return out

    async def delete_worker(self, account_id: str, template_id: str, name: str) -> None:
        w = self.get_worker(account_id, template_id, name)
        w.deleting = True
        w.interrupt(False)
        for _ in range(3):  # a dispatched call may hand over to the task once or twice
            busy = w.busy()
            if busy is None:
                break
            try:
                await asyncio.wait_for(asyncio.shield(busy), timeout=10)
            except asyncio.TimeoutError:
                break
        w.deleted = True
        if w.timer is not None:
            w.timer.cancel()
        w.drop_instance()
        for inv in list(w.queue) + ([w.current] if w.current else []):
            if inv.future is not None and not inv.future.done():
                inv.future.set_exception(w.deleted_error())
                inv.future.exception()
        await w.wlog.durable()
        batch = self.store.batch()
        batch.delete_log(w.key)
        batch.delete("workers", w.key)
        prefix = worker_keys_key(template_id, name, "")
        for k, _ in self.store.scan("worker_keys", prefix=prefix):
            batch.delete("worker_keys", k)
            batch.delete("keys", k[len(prefix):])
        for k, _ in self.store.scan("promises", prefix=f"{template_id}/{name}/"):
            batch.delete("promises", k)
        await self.store.commit(batch)
        # A call during that commit may have made the name anew (the store counts the old
        # log as gone once the batch is submitted): that worker stays.
        if self.workers.get(w.key) is w:
            del self.workers[w.key]
        counts = self._worker_counts()
        counts[account_id] = max(0, counts.get(account_id, 0) - 1)
        for q in list(w.listeners):
            q.put_nowait(None)  # tells /connect streams to close

    # ------------------------------------------------------------ invocations

    def _prepared_worker(self, account_id: str, template_id: str, name: str, function: str, params: Any,
                         convention: str, key: str | None = None
                         ) -> tuple[Worker, str, list | None, InvocationKeyRecord | None]:
        """Check the call (and its invocation key) against the worker's template version, then
        get or create the worker; with a key, also returns the key's row.

        A call that is rejected (400) writes nothing: not even the implicit worker.
        """
        worker: Worker | None
        try:
            found = self.get_worker(account_id, template_id, name)
            worker, version = found, found.identity.template_version
        except NotFound:
            self.check_name(name)
            worker, version = None, self.templates.get_record(account_id, template_id).latest_version
        function, lowered = self._prepare(template_id, version, function, params, convention)
        key_rec = None if key is None else self._key_record(template_id, name, key)
        if worker is None:
            worker = self.get_or_create(account_id, template_id, name)
            if worker.identity.template_version != version:  # an existing one after all: check again
                function, lowered = self._prepare(template_id, worker.identity.template_version,
                                                  function, params, convention)
        return worker, function, lowered, key_rec

    def _key_record(self, template_id: str, name: str, key: str) -> InvocationKeyRecord:
        """The row of an invocation key made for this worker by `new_key`; 400 for any other."""
        # Keys are uuids: anything else (an empty one, or one too long for an LMDB key) is
        # unknown without a lookup, which would refuse it with an error of its own.
        rec = self.store.get("keys", key) if 0 < len(key) <= _MAX_KEY_CHARS else None
        if rec is None or rec.template_id != template_id or rec.worker_name != name:
            raise InvalidRequest(f"unknown invocation key {key!r}; create one with POST …/key")
        return rec

    def _prepare(self, template_id: str, version: int, function: str, params: Any,
                 convention: str) -> tuple[str, list | None]:
        """Resolve and type-check before anything is written (400 material); returns the
        canonical function name and the converted params, reused for the first attempt."""
        if convention not in CONVENTIONS:
            raise InvalidRequest(f"unknown calling convention {convention!r}; use one of {', '.join(CONVENTIONS)}")
        template = self.templates.load(template_id, version)
        info = template.resolve(function)
        if convention == "component":
            try:
                lowered = lower_params(info.params, params, info.lowerers)
                # Handles are looked up in the worker's table on the guest thread: only
                # their shape is checked here.
                return info.name, None if info.has_handles else lowered
            except ValueMismatch as e:
                raise InvalidRequest(f"invalid params for {info.name}: {e}") from None
        if info.params:
            raise InvalidRequest(f"{info.name} takes parameters; the stdio convention needs a function without any")
        if not recordable(params):  # recorded as given: they must fit an oplog entry
            raise InvalidRequest("invalid params: integers must be from -2^63 to 2^64-1 (write larger numbers "
                                 "with an exponent, as floats)")
        return info.name, None

    async def new_key(self, account_id: str, template_id: str, name: str) -> str:
        worker = self.get_or_create(account_id, template_id, name)
        key = str(uuid.uuid4())
        template_id, name = worker.identity.template_id, worker.identity.worker_name
        batch = _put_batch(self.store, "keys", key, InvocationKeyRecord(
            template_id=template_id, worker_name=name, state="created"))
        batch.put("worker_keys", worker_keys_key(template_id, name, key), True)  # what delete looks up
        await self.store.commit(batch)
        return key

    async def invoke(self, account_id: str, template_id: str, name: str, function: str, params: Any,
                     convention: str = "component") -> None:
        """Queue an invocation; returns once it is durable (SPEC §4 invoke)."""
        worker, function, _, _ = self._prepared_worker(account_id, template_id, name, function, params,
                                                       convention)
        if worker.status in (FAILED, EXITED):
            raise worker.refusal()
        idx, commit = worker.wlog.append_with_commit(PendingWorkerInvocation(
            timestamp=time.time_ns(), function=function, params=params, calling_convention=convention))
        worker.enqueue(Invocation(function, params, None, convention, pending_idx=idx))
        worker.save()
        assert commit is not None  # appended on the loop, outside any burst: submitted at once
        await commit

    async def invoke_and_await(self, account_id: str, template_id: str, name: str, function: str, params: Any,
                               key: str | None = None, convention: str = "component",
                               timeout: float | None = None) -> Any:
        worker, function, lowered, rec = self._prepared_worker(account_id, template_id, name, function, params,
                                                               convention, key)
        fut = None
        if key is not None:
            assert rec is not None  # _prepared_worker found the key's row, or refused the call
            if rec.state == "complete":
                return self._completed_result(worker, rec)
            fut = worker.key_futures.get(key)
            if fut is not None and fut.done():
                fut = worker.resume_keyed(key) or fut  # or it failed for good: its error stands
            if fut is None and rec.state == "pending":
                # Started before a restart: recovery re-attaches it; wait for the worker to load.
                worker.resume_requested = True
                worker.kick()
                fut = await self._await_key_future(worker, key, rec)
                if not isinstance(fut, asyncio.Future):
                    return fut
        loop = self.loop
        assert loop is not None, "the executor is started"
        if fut is None:
            fut = loop.create_future()
            worker.enqueue(Invocation(function, params, key, convention, future=fut, lowered=lowered))
        # A keyed future is shared with later callers of the key: one going away must not
        # cancel it for the others. Nobody else sees an unkeyed one, and the invocation
        # does not depend on it, so its caller may cancel it: no shield (a future less).
        if key is None:
            if timeout is None:
                return await fut
            # The caller's own future: a timer may settle it with the timeout (cheaper
            # than asyncio.timeout); the invocation goes on and its result is dropped.
            timer = loop.call_later(timeout, _time_out, fut)
            try:
                return await fut
            finally:
                timer.cancel()
        if timeout is None:
            return await asyncio.shield(fut)
        try:
            async with asyncio.timeout(timeout):  # cheaper than wait_for: no extra task
                return await asyncio.shield(fut)
        except TimeoutError:
            raise InvocationTimeout(TIMED_OUT_KEYED) from None

    async def _await_key_future(self, worker: Worker, key: str, rec) -> Any:
        for _ in range(2000):
            fut = worker.key_futures.get(key)
            if fut is not None:
                return fut
            rec = self.store.get("keys", key)
            if rec is not None and rec.state == "complete":
                return self._completed_result(worker, rec)
            if worker.status in (FAILED, EXITED):
                raise InvocationFailed(worker.last_error or "previous invocation failed")
            await asyncio.sleep(0.005)
        raise InvocationTimeout("the keyed invocation is still being recovered")

    def _completed_result(self, worker: Worker, rec: InvocationKeyRecord) -> Any:
        idx = rec.completed_idx
        entries = self.store.read(worker.key, idx, 1) if idx is not None else []
        if not entries:
            raise NotFound("the result of that invocation is no longer in the oplog")
        entry = entries[0][1]
        assert isinstance(entry, ExportedFunctionCompleted), f"index {idx} holds a {type(entry).__name__}"
        return entry.result

    # ------------------------------------------------------------ promises, interrupts

    async def complete_promise(self, account_id: str, template_id: str, name: str, idx: int, data: bytes) -> bool:
        worker = self.get_worker(account_id, template_id, name)
        pkey = promise_key(template_id, name, idx)
        rec = self.store.get("promises", pkey)
        if rec is None:
            raise NotFound(f"no promise was created at oplog index {idx} of worker {template_id}.{name}")
        if rec.state == "complete" or worker.key in self._completing and idx in self._completing[worker.key]:
            return False
        self._completing.setdefault(worker.key, set()).add(idx)
        try:
            done = PromiseRecord(template_id=template_id, worker_name=name, oplog_idx=idx, state="complete",
                                 data=bytes(data))
            _, commit = worker.wlog.append_with_commit(
                CompletePromise(timestamp=time.time_ns(), promise_idx=idx, data=bytes(data)),
                (("promises", pkey, done),))
            assert commit is not None  # appended on the loop, outside any burst: submitted at once
            await commit
        finally:
            self._completing[worker.key].discard(idx)
        worker.wake()
        return True

    async def interrupt(self, account_id: str, template_id: str, name: str, recover_immediately: bool) -> bool:
        """Interrupt a running or suspended worker; True if it was.

        The answer waits (at most INTERRUPT_SETTLE_S) until the worker shows Interrupted,
        durably: a running guest notices an interrupt only at its next epoch tick or host
        call, and a client that reads the worker after a `true` should find it so. With
        `recover_immediately` the worker goes on at once instead: nothing to wait for.
        """
        worker = self.get_worker(account_id, template_id, name)
        if not worker.interrupt(recover_immediately):
            return False
        if not recover_immediately:
            await worker.shown_interrupted(INTERRUPT_SETTLE_S)
        return True

    async def resume(self, account_id: str, template_id: str, name: str) -> None:
        """Resume an interrupted worker; returns once its Resume entry is durable (an
        acknowledged resume survives a crash)."""
        w = self.get_worker(account_id, template_id, name)
        if w.status != INTERRUPTED:
            raise InvalidRequest(f"worker {template_id}.{name} is {w.status}, not Interrupted")
        w.resume()
        await w.wlog.durable()

    def oplog(self, account_id: str, template_id: str, name: str, start: int, count: int):
        w = self.get_worker(account_id, template_id, name)
        return w, self.store.read(w.key, start, count)


# How long an interrupt's answer waits for the worker to show Interrupted.
INTERRUPT_SETTLE_S = 1.0

TIMED_OUT_KEYED = ("the invocation did not finish in time; it goes on, and calling again with the same "
                   "invocation key returns its result")
TIMED_OUT = ("the invocation did not finish in time; it goes on, but its result is not kept for this call "
             "(call with an invocation key to be able to fetch it later)")


def _time_out(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_exception(InvocationTimeout(TIMED_OUT))


def _put_batch(store: OplogStore, table: str, key: str, value: Any):
    batch = store.batch()
    batch.put(table, key, value)
    return batch
