"""A worker: its queue, status, retries and recovery, driven on the event loop.

The worker owns at most one `WorkerInstance`, which only ever runs on a guest thread.
Invocations run one at a time in arrival order. Every outcome that a caller is told
about waits for the oplog commit it depends on.
"""

from __future__ import annotations

import asyncio
import codecs
import time
from collections import deque
from typing import Any, Callable

import msgspec
import structlog

from oplog import (
    Error, Exited, Interrupted, InvocationKeyRecord, InvocationRejected, Resume, Suspend as SuspendEntry,
    WorkerRecord,
)

from .errors import InvalidRequest, InvocationFailed, NotFound, ReplayDivergence, WorkerInterrupted
from .guest_pool import current_burst
from .host import GuestExit, Interrupt, Jumped, Suspend
from .host.state import RetryPolicy, UnknownRemoteWrite, WorkerIdentity
from .instance import Completed, Invocation, Rejected, Stopped, Trapped, WorkerInstance
from .worker_log import LogBurst, Puts, WorkerLog

log = structlog.get_logger(__name__)

RUNNING, IDLE, SUSPENDED, INTERRUPTED, RETRYING, FAILED, EXITED = (
    "Running", "Idle", "Suspended", "Interrupted", "Retrying", "Failed", "Exited")


class Worker:
    def __init__(self, executor, record: WorkerRecord):
        self.ex = executor
        self.record = record
        self.identity = WorkerIdentity(record.template_id, record.worker_name, record.template_version,
                                       record.account_id, list(record.args), [(k, v) for k, v in record.env])
        self.key = self.identity.worker_key
        self.wlog = WorkerLog(executor.store, self.key)
        self.status = record.status
        self.retry_count = record.retry_count
        self.last_error = record.last_error
        self.queue: deque[Invocation] = deque()
        self.durable_queued = 0       # queued invocations with a PendingWorkerInvocation entry
        self.current: Invocation | None = None
        self.instance: WorkerInstance | None = None
        self.loaded = False           # the log was read once in this process
        self.task: asyncio.Task | None = None
        self.dispatched = False       # a call dispatched on the fast path is running
        self.inflight: asyncio.Future | None = None   # made only when someone waits for it
        self.timer: asyncio.TimerHandle | None = None
        self.retry_wait: asyncio.Future | None = None   # the delay before a retry; an interrupt ends it
        # Set by the first load after a restart that came inside a retry's delay: when it is due.
        self.retry_due_ns: int | None = None
        self.key_futures: dict[str, asyncio.Future] = {}
        self.listeners: set[asyncio.Queue] = set()
        self.decoders: dict[str, codecs.IncrementalDecoder] = {}
        self.retry_policy = RetryPolicy()
        self.recover_immediately = False
        self.interrupt_after_load: bool | None = None   # an interrupt that arrived during replay
        self.resume_requested = False
        # A wake (a promise completed) that came while a guest call ran: if that call then
        # suspends, it may have read the promise just before the completion landed.
        self.woken_while_running = False
        self.deleting = False         # delete_worker is stopping it: its callers hear "deleted"
        self.deleted = False
        # While status changes (and completions of durable invocations) wait for their oplog
        # entries to be durable: how many, the status the API shows meanwhile (the one before
        # them), and the completed invocations it still counts as pending (see shown_record).
        self._unconfirmed = 0
        self._shown_status: str | None = None
        self._shown_pending = 0
        self._confirming: set[asyncio.Task] = set()

    # ------------------------------------------------------------ record

    def at_rest(self) -> bool:
        """Does this object hold nothing that its stored row and log do not (so that making
        it anew from them, as after a restart, changes nothing)? See executor.forgetting."""
        rec = self.record
        return (self.instance is None and self.status in (IDLE, FAILED, EXITED)
                and not self.queue and self.current is None and self.durable_queued == 0
                and not self.dispatched and (self.task is None or self.task.done())
                and self.timer is None and self.retry_wait is None and not self.listeners
                and self._unconfirmed == 0 and not self._confirming
                and not self.resume_requested and self.interrupt_after_load is None
                and not self.recover_immediately and not self.woken_while_running
                and not self.deleting and not self.deleted
                and rec.status == self.status and rec.retry_count == self.retry_count
                and rec.last_error == self.last_error and rec.pending_count == 0
                and self.wlog.settled()
                and all(not d.getstate()[0] for d in self.decoders.values()))

    def metadata_record(self) -> WorkerRecord:
        pending = len(self.queue) + (1 if self.current is not None else 0)
        if not self.loaded:
            # Not replayed in this process yet: the queue lives only in the log and the record.
            # The row counts queued invocations only; a suspended, retrying or interrupted
            # worker is inside one more, which replay makes current again (until then, as
            # after it: pending).
            inside = 1 if self.status in (SUSPENDED, RETRYING, INTERRUPTED) else 0
            pending = max(pending, self.record.pending_count + inside)
        return msgspec.structs.replace(
            self.record, status=self.status, retry_count=self.retry_count, last_error=self.last_error,
            pending_count=pending)

    def shown_record(self) -> WorkerRecord:
        """The worker as the API shows it: a status change (Suspended, Interrupted, Exited),
        or the completion of an invocation queued with invoke, shows only once its oplog
        entry is durable, so that what a client saw survives a crash. Until then the status
        before it shows, and the invocation still counts as pending."""
        record = self.metadata_record()
        if self._shown_status is not None:
            record = msgspec.structs.replace(record, status=self._shown_status,
                                             pending_count=record.pending_count + self._shown_pending)
        return record

    def _hold_shown(self) -> None:
        """Keep showing the current status until `_confirm_status` has seen the log durable."""
        if self._unconfirmed == 0:
            self._shown_status = self.status
        self._unconfirmed += 1

    def _set_status_unconfirmed(self, status: str) -> None:
        """Set the status (and write the row) now, for the worker's own logic; the API keeps
        showing the status before it until `_confirm_status` has seen the log durable."""
        self._hold_shown()
        self._set_status(status)

    async def _confirm_status(self, then: Callable[[], None] | None = None) -> None:
        try:
            await self.wlog.durable()
        finally:
            self._unconfirmed -= 1
            if self._unconfirmed == 0:
                self._shown_status = None
            if then is not None:
                then()

    async def _set_status_durably(self, status: str) -> None:
        self._set_status_unconfirmed(status)
        await self._confirm_status()

    def _confirm_status_later(self, then: Callable[[], None]) -> None:
        """For a synchronous caller: confirm in a task of its own, then call `then()`."""
        task = self.ex.loop.create_task(self._confirm_status(then))
        self._confirming.add(task)  # a reference, or the task may be collected mid-way
        task.add_done_callback(self._confirming.discard)
        task.add_done_callback(_log_unconfirmed)

    def save(self) -> None:
        """Write the worker row (cached status, counts) through the worker's log."""
        if not self.deleted:
            record = self.metadata_record()
            if self.loaded:
                # The row serves after a restart: only queued invocations that survive one
                # count (durable, from invoke); awaited calls end with their callers.
                record = msgspec.structs.replace(record, pending_count=self.durable_queued)
            self.record = record
            self.wlog.put("workers", self.key, self.record)

    def _set_status(self, status: str) -> None:
        self.status = status
        self.save()

    # ------------------------------------------------------------ output events

    def emit(self, event: dict) -> None:
        for q in list(self.listeners):
            try:
                q.put_nowait(event)
            except asyncio.QueueFull:
                pass

    def on_output(self, stream: str, data: bytes) -> None:
        """Called on the guest thread for each live write; forwarded to /connect listeners."""
        # One decoder per stream: a character split across two writes is not garbled.
        decoder = self.decoders.get(stream)
        if decoder is None:
            decoder = self.decoders[stream] = codecs.getincrementaldecoder("utf-8")(errors="replace")
        text = decoder.decode(data)
        if not self.listeners or not text:
            return
        self.ex.inbox.post(self.emit, {stream: {"message": text}})

    def on_log(self, level: str, context: str, message: str) -> None:
        """A wasi:logging line, on the guest thread; forwarded to /connect listeners."""
        if self.listeners:
            event = {"log": {"level": level, "context": context, "message": message}}
            self.ex.inbox.post(self.emit, event)

    # ------------------------------------------------------------ queueing

    def enqueue(self, inv: Invocation) -> None:
        self.queue.append(inv)
        if inv.pending_idx is not None:
            self.durable_queued += 1
        if self.status == INTERRUPTED:
            self.resume()  # the next invocation resumes an interrupted worker (SPEC §4)
        if inv.key is not None and inv.future is not None:
            self.key_futures.setdefault(inv.key, inv.future)
        self.kick()

    def _dequeue(self) -> Invocation:
        inv = self.queue.popleft()
        if inv.pending_idx is not None:
            self.durable_queued -= 1
        return inv

    def kick(self) -> None:
        if self.deleted or self.busy() is not None:
            return
        if self._fast_path_ready():
            self._dispatch_next()
        else:
            self.task = self.ex.loop.create_task(self._run(), name=f"worker {self.key}")

    def busy(self) -> asyncio.Future | None:
        """What this worker is doing now (its task or a dispatched call), to await; or None."""
        if self.task is not None and not self.task.done():
            return self.task
        if self.dispatched:
            # Made on demand: the hot path dispatches and settles without a future.
            if self.inflight is None:
                self.inflight = self.ex.loop.create_future()
            return self.inflight
        return None

    # ------------------------------------------------------------ the fast path
    # The common case (a live instance, a queued call, nothing unusual going on) runs
    # without an asyncio task: dispatch to a guest thread, and on completion dispatch the
    # next call straight from the callback. Anything else goes to the task (`_drive`).

    def _fast_path_ready(self) -> bool:
        return (self.instance is not None and self.current is None and bool(self.queue)
                and self.status in (IDLE, RUNNING) and not self.resume_requested
                and self.interrupt_after_load is None and not self.ex.closing)

    def _dispatch_next(self) -> None:
        inv = self.current = self._dequeue()
        self.status = RUNNING
        self.ex.touch(self)
        self.dispatched = True
        self.woken_while_running = False  # as in _drive
        self.ex.pool.call(self.ex.inbox, self._dispatched, self._invoke_on_thread, inv)

    def _dispatched(self, outcome, error: BaseException | None) -> None:
        inflight, self.inflight = self.inflight, None
        self.dispatched = False
        inv = self.current
        assert inv is not None  # set by _dispatch_next, cleared only by what follows
        try:
            if error is None and isinstance(outcome, Completed) and not self.deleted:
                self._completed(inv)
                if self._fast_path_ready():
                    self._dispatch_next()
                    return
                if self.queue or self.resume_requested:
                    self.task = self.ex.loop.create_task(self._run(), name=f"worker {self.key}")
                return
            self.task = self.ex.loop.create_task(self._after_dispatch(inv, outcome, error),
                                                 name=f"worker {self.key}")
        finally:
            if inflight is not None and not inflight.done():
                inflight.set_result(None)

    async def _after_dispatch(self, inv: Invocation, outcome, error: BaseException | None) -> None:
        try:
            if error is not None:
                raise error
            await self._handle(inv, outcome)
            await self._drive()
        except Exception as e:  # noqa: BLE001 - a bug must not leave callers hanging
            log.exception("worker loop failed", worker=self.key)
            self._fail(f"internal error: {e}")

    # ------------------------------------------------------------ the loop

    async def _run(self) -> None:
        try:
            await self._drive()
        except Exception as e:  # noqa: BLE001 - a bug must not leave callers hanging
            log.exception("worker loop failed", worker=self.key)
            self._fail(f"internal error: {e}")

    async def _drive(self) -> None:
        while not self.deleted and not self.ex.closing:
            if self.status in (FAILED, EXITED):
                self._reject_queue()
                return
            if self.status == SUSPENDED and not self.resume_requested:
                return
            if self.status == INTERRUPTED and not self.resume_requested:
                return
            self.resume_requested = False
            if self.instance is None:
                ok = await self._load()
                if not ok:
                    if self.status in (FAILED, EXITED):
                        continue  # the top of the loop answers the queue
                    return  # could not start: its callers heard why; the next call tries again
                if self.interrupt_after_load is not None:
                    recover, self.interrupt_after_load = self.interrupt_after_load, None
                    if not recover:
                        await self._interrupted(self.current)
                        continue
                if self.retry_due_ns is not None:
                    due, self.retry_due_ns = self.retry_due_ns, None
                    delay = (due - time.time_ns()) / 1e9
                    if delay > 0:
                        # The daemon stopped inside a retry's delay: what is left of it is
                        # waited out, as it would have been without the restart. The next
                        # turn of the loop builds the instance again.
                        self.drop_instance()
                        self._set_status(RETRYING)
                        await self._wait_to_retry(delay)
                        continue
            if self.current is None:
                if not self.queue:
                    if self.status != IDLE:
                        self._set_status(IDLE)
                    return
                self.current = self._dequeue()
            inv = self.current
            if self.status != RUNNING:
                self.status = RUNNING
            self.ex.touch(self)
            self.woken_while_running = False  # completions before this are visible to the call
            outcome = await self.ex.run_guest(self._invoke_on_thread, inv)
            await self._handle(inv, outcome)

    def _invoke_on_thread(self, inv: Invocation):
        inst = self.instance
        # The ExportedFunctionInvoked entry itself marks unfinished work for recovery, so the
        # worker row is written only when what it caches really changes (not Idle->Running->Idle
        # on every call: that would double the writes of the hot path).
        start_puts: Puts = ()
        if inv.start_idx is None and inv.key is not None:
            start_puts = (("keys", inv.key, InvocationKeyRecord(
                template_id=self.identity.template_id, worker_name=self.identity.worker_name, state="pending")),)

        def complete_puts(idx: int) -> Puts:
            # Runs on the guest thread: build the rows, leave the worker's fields to _handle.
            puts: list[tuple[str, str, Any]] = []
            if inv.key is not None:
                puts.append(("keys", inv.key, InvocationKeyRecord(
                    template_id=self.identity.template_id, worker_name=self.identity.worker_name,
                    state="complete", completed_idx=idx)))
            rec = self.record
            pending = self.durable_queued  # as save() counts: what survives a restart
            if rec.status != IDLE or rec.pending_count != pending or rec.retry_count or rec.last_error != self.last_error:
                self.record = msgspec.structs.replace(rec, status=IDLE, retry_count=0, last_error=self.last_error,
                                                      pending_count=pending)
                puts.append(("workers", self.key, self.record))
            return puts
        burst = current_burst()  # a LogBurst: guest threads are made with one
        assert isinstance(burst, LogBurst) and inst is not None, "a live instance, on a guest thread"
        self.wlog.hold(burst)
        try:
            outcome = inst.invoke(inv, start_puts, complete_puts)
        finally:
            self.wlog.release()
        fut = inv.future
        if isinstance(outcome, Completed) and fut is not None:
            # Settle the caller straight from the commit, without waiting for this thread's
            # result to reach the event loop first: one thread hop less on the latency path.
            burst.after_commit(self.ex.inbox, _settle, fut, outcome.result)
        return outcome

    async def _load(self) -> bool:
        """Build a fresh instance and replay the log into it."""
        await self.wlog.durable()  # replay reads committed entries only
        try:
            inst, result = await self.ex.run_guest(self._build_and_replay)
        except (ReplayDivergence, UnknownRemoteWrite) as diverged:  # the log says it cannot go on
            log.warning("replay failed", worker=self.key, error=str(diverged))
            self._fail(f"recovery failed: {diverged}")
            return False
        except Exception as failure:  # noqa: BLE001 - every caller must hear of it
            log.warning("instance could not be built", worker=self.key, error=str(failure))
            self._cannot_start(f"cannot start the worker: {failure}")
            return False
        self.instance = inst
        self.retry_policy = result.retry_policy or self.retry_policy
        if result.exited:
            self.status = EXITED
            self.save()
            return False
        if not self.loaded:
            # First load in this process: pick up durable queued invocations and the
            # invocation that was in flight when the previous process stopped.
            self.loaded = True
            known = {inv.pending_idx for inv in self.queue if inv.pending_idx is not None}
            recovered = [Invocation(p.function, p.params, p.invocation_key, p.calling_convention, pending_idx=i)
                         for i, p in result.pending if i not in known]
            for inv in reversed(recovered):
                self._attach_key(inv)
                self.queue.appendleft(inv)
                self.durable_queued += 1
            self.retry_count = max(self.retry_count, result.errors_since_start)
            if result.inflight is not None and result.last_error_ns is not None:
                self.retry_due_ns = result.last_error_ns + self.retry_policy.delay_ns(self.retry_count)
        if result.inflight is not None:
            idx, entry = result.inflight
            if self.current is None or self.current.start_idx != idx:
                inv = Invocation(entry.function, entry.params, entry.invocation_key, entry.calling_convention,
                                 pending_idx=entry.pending_idx, start_idx=idx)
                self._attach_key(inv)
                self.current = inv
        elif self.current is not None and self.current.start_idx is not None:
            self.current = None  # it completed (its caller was answered) before the instance went
        self.ex.touch(self)
        return True

    def _attach_key(self, inv: Invocation) -> None:
        if inv.key is None:
            return
        fut = self.key_futures.get(inv.key)
        if fut is None or fut.done():
            fut = self.ex.loop.create_future()
            self.key_futures[inv.key] = fut
        inv.future = fut

    def _build_and_replay(self):
        template = self.ex.templates.load(self.identity.template_id, self.identity.template_version)
        inst = WorkerInstance(self.ex.runtime, template, self.identity, self.wlog, self.ex.services,
                              on_output=self.on_output, on_log=self.on_log)
        entries = self.ex.store.read(self.key)
        started = time.perf_counter()
        result = inst.replay(entries)
        self.ex.metrics["replay_seconds"] += time.perf_counter() - started
        self.ex.metrics["replays"] += 1
        return inst, result

    def drop_instance(self) -> None:
        if self.instance is not None:
            self.instance.detach()
        self.instance = None
        self.ex.forget_live(self)

    # ------------------------------------------------------------ outcomes

    def _completed(self, inv: Invocation) -> None:
        self.ex.metrics["invocations"] += 1
        self.retry_count = 0
        if inv.pending_idx is not None:
            # Queued with invoke: nobody is answered, a client watches the worker instead.
            # It sees the invocation done (Idle, not pending) once the completion is durable.
            self._hold_shown()
            self._shown_pending += 1
            self._confirm_status_later(self._completion_shown)
        self._done_with(inv)

    def _completion_shown(self) -> None:
        self._shown_pending -= 1

    def _done_with(self, inv: Invocation) -> None:
        """The current invocation is over: on to the next, if any."""
        self.current = None
        self.status = RUNNING if self.queue else IDLE
        if inv.key is not None:
            self.key_futures.pop(inv.key, None)

    async def _handle(self, inv: Invocation, outcome) -> None:
        if isinstance(outcome, Completed):
            self._completed(inv)
            return
        if isinstance(outcome, Rejected):
            # Nothing ran and the instance is untouched. A call queued with invoke has its
            # caller gone: its refusal is recorded (or recovery would queue it again, to run
            # out of its turn) and shown as the worker's last error.
            self._done_with(inv)
            if inv.pending_idx is not None:
                self.wlog.append(InvocationRejected(timestamp=time.time_ns(), pending_idx=inv.pending_idx,
                                                    reason=outcome.message))
                self.last_error = outcome.message
                self.save()
            _fail_future(inv.future, InvalidRequest(outcome.message))
            return
        self.drop_instance()
        if isinstance(outcome, Stopped):
            sig = outcome.signal
            if isinstance(sig, Jumped):
                return  # rebuild from the log and go on from the jump target
            if isinstance(sig, Suspend):
                self.wlog.append(SuspendEntry(timestamp=time.time_ns(), reason=sig.reason,
                                              wake_at_ns=sig.wake_at_ns))
                await self._set_status_durably(SUSPENDED)
                if self.woken_while_running:
                    # What it waits for may have come between its check and its suspending:
                    # go round again (it suspends once more if it has not).
                    self.resume_requested = True
                elif sig.wake_at_ns is not None:
                    self.schedule_wake(sig.wake_at_ns)
                return
            if isinstance(sig, GuestExit):
                self.wlog.append(Exited(timestamp=time.time_ns(), code=sig.code))
                self.current = None
                await self._set_status_durably(EXITED)
                _fail_future(inv.future, InvocationFailed(f"exited: the worker exited with code {sig.code}"))
                return
            if isinstance(sig, Interrupt):
                if self.ex.closing:
                    # Daemon shutdown: leave the worker Running in its record so that the
                    # next start replays it and finishes the invocation.
                    return
                if self.recover_immediately:
                    # A simulated crash: rebuild from the oplog at once; the caller keeps waiting.
                    self.recover_immediately = False
                    return
                await self._interrupted(inv)
                return
        assert isinstance(outcome, Trapped)
        self.retry_count += 1
        self.last_error = outcome.message
        retriable = outcome.retriable and self.retry_count < self.retry_policy.max_attempts
        self.wlog.append(Error(timestamp=time.time_ns(), details=outcome.message, retriable=retriable))
        if not retriable:
            await self.wlog.durable()  # the failure a caller is told about is on disk first
            self._fail(outcome.message)
            return
        self._set_status(RETRYING)
        delay = self.retry_policy.delay_ns(self.retry_count) / 1e9
        log.info("invocation trapped; retrying", worker=self.key, attempt=self.retry_count, delay=delay,
                 error=outcome.message)
        await self._wait_to_retry(delay)

    async def _wait_to_retry(self, delay: float) -> None:
        """Wait `delay` s before the next attempt; an interrupt, a delete or the daemon's stop ends it sooner."""
        wait = self.retry_wait = self.ex.loop.create_future()
        handle = self.ex.loop.call_later(delay, _settle, None, wait, None)
        try:
            await wait
        finally:
            handle.cancel()
            self.retry_wait = None

    def deleted_error(self) -> NotFound:
        """What the callers of a worker's invocations hear once it is deleted."""
        return NotFound(f"worker {self.identity.template_id}.{self.identity.worker_name} was deleted")

    def _stopped_error(self) -> Exception:
        """What the caller of an invocation stopped by an interrupt hears: a delete stops
        the running call with one too, and its caller hears what the queued ones hear."""
        return self.deleted_error() if self.deleting else WorkerInterrupted()

    async def _interrupted(self, inv: Invocation | None) -> None:
        """Record the interrupt; the interrupted call stays current and finishes on resume."""
        self.wlog.append(Interrupted(timestamp=time.time_ns()))
        await self._set_status_durably(INTERRUPTED)
        if inv is not None:
            _fail_future(inv.future, self._stopped_error())
            if inv.key is None:
                inv.future = None

    def _fail(self, message: str) -> None:
        self.last_error = message
        self.status = FAILED
        self.drop_instance()
        inv, self.current = self.current, None
        if inv is not None:
            if inv.key is not None:
                self.key_futures.pop(inv.key, None)
            _fail_future(inv.future, InvocationFailed(message))
        self._reject_queue()
        self.save()  # after the queue is answered: the row counts no call as pending

    def _cannot_start(self, message: str) -> None:
        """No instance could be built, for a reason outside the worker's history (a memory
        limit its guest's minimum exceeds, say): its waiting callers hear why, and nothing
        is marked for good. The next call tries again, as does a restart with other limits;
        durable queued calls stay queued, and an invocation in flight stays in flight."""
        self.last_error = message
        for inv in self.queue:
            if inv.pending_idx is None:
                if inv.key is not None:
                    self.key_futures.pop(inv.key, None)  # the key's call never started: it may come again
                _fail_future(inv.future, InvocationFailed(message))
        self.queue = deque(inv for inv in self.queue if inv.pending_idx is not None)
        if self.current is not None:
            _fail_future(self.current.future, InvocationFailed(message))
            if self.current.key is not None:
                self.key_futures.pop(self.current.key, None)
        elif self.status == RUNNING:
            self.status = IDLE
        self.save()

    def _reject_queue(self) -> None:
        while self.queue:
            _fail_future(self._dequeue().future, self.refusal())

    def refusal(self) -> InvocationFailed:
        """What a call to this Failed or Exited worker hears, with the reason if known."""
        if self.status == FAILED:
            return InvocationFailed(f"previous invocation failed: {self.last_error}" if self.last_error
                                    else "previous invocation failed")
        return InvocationFailed("exited: the worker has exited")

    # ------------------------------------------------------------ control

    def schedule_wake(self, wake_at_ns: int) -> None:
        if self.timer is not None:
            self.timer.cancel()
        delay = max(0.0, (wake_at_ns - time.time_ns()) / 1e9)
        self.timer = self.ex.loop.call_later(delay, self._timer_fired)

    def _timer_fired(self) -> None:
        self.timer = None  # a fired handle may keep its callback, and so this worker, alive
        self.wake()

    def wake(self) -> None:
        """A promise this worker may wait for completed, or its sleep is due."""
        if self.deleted:
            return
        if self.status == SUSPENDED:
            self.resume_requested = True
            self.kick()
        else:
            self.woken_while_running = True

    def interrupt(self, recover_immediately: bool) -> bool:
        if self.status == RUNNING and self.instance is not None:
            self.recover_immediately = recover_immediately
            self.instance.state.should_stop = "interrupted"
            return True
        if self.status == RUNNING and self.task is not None and not self.task.done() and self.instance is None:
            # Being rebuilt by replay (e.g. recovering after a restart): stop once it is loaded.
            self.interrupt_after_load = recover_immediately
            return True
        if self.status in (SUSPENDED, RETRYING):
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
            if self.retry_wait is not None:
                # Waiting to retry: stop waiting (a delete behind this interrupt waited out
                # the delay, up to its 10 s bound).
                _settle(None, self.retry_wait, None)
            if recover_immediately:
                self.resume_requested = True
                self.kick()
                return True
            self.wlog.append(Interrupted(timestamp=time.time_ns()))
            self._set_status_unconfirmed(INTERRUPTED)
            inv = self.current

            def tell_caller() -> None:  # once the Interrupted entry is durable
                if inv is not None:
                    _fail_future(inv.future, self._stopped_error())
            self._confirm_status_later(tell_caller)
            return True
        return False

    async def shown_interrupted(self, timeout: float) -> None:
        """Wait until the API shows this worker Interrupted, or until it stopped running in
        another way (its call finished first, it failed, it was deleted); `timeout` s at most."""
        deadline = time.monotonic() + timeout
        while not self.deleted and time.monotonic() < deadline:
            if self._shown_status is None and self.status not in (RUNNING, SUSPENDED, RETRYING):
                return  # Interrupted, durably; or over some other way
            await asyncio.sleep(0.005)

    def resume_keyed(self, key: str) -> asyncio.Future | None:
        """A keyed invocation that was interrupted, called again: its first caller heard
        "interrupted"; this call is the worker's next invocation, which resumes it (SPEC §4),
        and the interrupted run, completing first, answers it. Returns the future that run
        settles, or None if `key` is not this interrupted worker's current invocation."""
        inv = self.current
        if self.status != INTERRUPTED or inv is None or inv.key != key:
            return None
        fut = self.ex.loop.create_future()
        inv.future = self.key_futures[key] = fut
        self.resume()
        return fut

    def resume(self) -> None:
        if self.status == INTERRUPTED:
            self.wlog.append(Resume(timestamp=time.time_ns()))
            # Running from now on, while it is rebuilt too (an interrupt then stops it once
            # loaded); the row says so with the Resume entry, for the API and for recovery.
            self._set_status(RUNNING)
            self.resume_requested = True
            self.kick()


def _settle(err: BaseException | None, fut: asyncio.Future, result: Any) -> None:
    if fut.done():
        return
    if err is not None:
        fut.set_exception(err)
    else:
        fut.set_result(result)


def _log_unconfirmed(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("status change not made durable", error=str(task.exception()))


def _fail_future(fut, exc: BaseException) -> None:
    if fut is not None and not fut.done():
        fut.set_exception(exc)
        # Nobody may be waiting (an invoke without await); don't warn about it.
        fut.exception()
