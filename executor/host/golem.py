"""`golem:api/host@0.2.0`: promises, oplog control, retry policy, persistence, idempotence."""

from __future__ import annotations

import time
import uuid

from wasmtime import component as cm

from oplog import (
    BeginAtomicRegion, ChangePersistenceLevel, ChangeRetryPolicy, CreatePromise, EndAtomicRegion,
    ImportedFunctionInvoked, Jump,
)

from .state import HostState, Jumped, RetryPolicy, Suspend, divergence, register

GOLEM_HOST = "golem:api/host@0.2.0"
LEVELS = ("persist-nothing", "persist-remote-side-effects", "smart")


def _rec(**fields) -> cm.Record:
    r = cm.Record()
    for k, v in fields.items():
        setattr(r, k.replace("_", "-"), v)
    return r


def uuid_record(u: str) -> cm.Record:
    n = uuid.UUID(u).int
    return _rec(high_bits=n >> 64, low_bits=n & ((1 << 64) - 1))


def uuid_from_record(r) -> str:
    return str(uuid.UUID(int=(getattr(r, "high-bits") << 64) | getattr(r, "low-bits")))


def promise_id(template_id: str, worker_name: str, idx: int) -> cm.Record:
    wid = _rec(template_id=_rec(uuid=uuid_record(template_id)), worker_name=worker_name)
    return _rec(worker_id=wid, oplog_idx=idx)


def parse_promise_id(p) -> tuple[str, str, int]:
    wid = getattr(p, "worker-id")
    tid = uuid_from_record(getattr(getattr(wid, "template-id"), "uuid"))
    return tid, getattr(wid, "worker-name"), getattr(p, "oplog-idx")


def _level_value(level: str):
    # persistence-level has only unit cases, so wasmtime-py wants a tagged Variant.
    return cm.Variant(level)


def define_golem_host(root) -> None:
    with root.add_instance(GOLEM_HOST) as host:
        for name, fn in _FUNCTIONS.items():
            register(host, name, fn)


def create_promise(state: HostState):
    ident = state.identity
    item = state.replaying_entry(CreatePromise, "golem-create-promise")
    if item is not None:
        return promise_id(ident.template_id, ident.worker_name, item[0])
    idx = state.services.create_promise(state)
    return promise_id(ident.template_id, ident.worker_name, idx)


def await_promise(state: HostState, pid) -> bytes:
    tid, name, idx = parse_promise_id(pid)

    def live():
        done, data = state.services.promise_state(tid, name, idx)
        if not done:
            raise Suspend(f"waiting for promise {idx}")
        return data
    return state.durable("golem:api/host/golem-await-promise", "read-remote", live)


def complete_promise(state: HostState, pid, data: bytes) -> bool:
    tid, name, idx = parse_promise_id(pid)
    return state.durable("golem:api/host/golem-complete-promise", "write-remote",
                         lambda: state.services.complete_promise(state.identity.account_id, tid, name, idx, bytes(data)))


def delete_promise(state: HostState, pid) -> None:
    tid, name, idx = parse_promise_id(pid)
    state.durable("golem:api/host/golem-delete-promise", "write-local",
                  lambda: state.services.delete_promise(tid, name, idx))


def get_self_uri(state: HostState, function_name: str):
    ident = state.identity
    return _rec(value=f"worker://{ident.template_id}/{ident.worker_name}/{function_name}")


def get_oplog_index(state: HostState) -> int:
    name = "golem:api/host/get-oplog-index"
    if state.persistence == "persist-nothing":
        # Nothing records this call, so no entry is its own: the log's last index. (An
        # entry written here would be met by a later replay that does not ask for it.)
        return state.services.last_oplog_index(state)
    item = state.cursor.next()
    if item is not None:
        idx, entry = item
        if type(entry) is not ImportedFunctionInvoked or entry.function != name:
            raise divergence(idx, entry, name)
        return entry.response
    # The answer is the index of the entry that records this very call.
    return state.append_at(lambda i: ImportedFunctionInvoked(
        timestamp=time.time_ns(), function=name, response=i, kind="read-local"))


def set_oplog_index(state: HostState, target: int) -> None:
    if target < 1:
        raise ValueError(f"set-oplog-index: {target} is not an oplog index")
    # Live only: replay never reaches here, because the Jump hides this call's region.
    state.append_at(lambda j: Jump(timestamp=time.time_ns(), start=target + 1, end=j))
    state.commit()
    raise Jumped(f"jump back to oplog index {target}")


def oplog_commit(state: HostState, replicas: int) -> None:
    if not state.replaying:
        state.commit()


def mark_begin(state: HostState) -> int:
    if state.persistence == "persist-nothing":
        # Nothing is recorded, so there is nothing to re-run whole: no region.
        return state.services.last_oplog_index(state)
    item = state.replaying_entry(BeginAtomicRegion, "mark-begin-operation")
    if item is not None:
        return item[0]
    return state.append(BeginAtomicRegion(timestamp=time.time_ns()))


def mark_end(state: HostState, begin: int) -> None:
    if state.persistence == "persist-nothing":
        return
    if state.replaying_entry(EndAtomicRegion, "mark-end-operation") is None:
        state.append(EndAtomicRegion(timestamp=time.time_ns(), begin_index=begin))


def get_retry_policy(state: HostState):
    p = state.retry_policy
    return _rec(max_attempts=p.max_attempts, min_delay=p.min_delay_ns,
                max_delay=p.max_delay_ns, multiplier=p.multiplier)


def set_retry_policy(state: HostState, p) -> None:
    policy = RetryPolicy(getattr(p, "max-attempts"), getattr(p, "min-delay"),
                         getattr(p, "max-delay"), getattr(p, "multiplier"))
    if state.persistence != "persist-nothing" and state.replaying_entry(ChangeRetryPolicy,
                                                                         "set-retry-policy") is None:
        state.append(ChangeRetryPolicy(timestamp=time.time_ns(), max_attempts=policy.max_attempts,
                                       min_delay_ns=policy.min_delay_ns, max_delay_ns=policy.max_delay_ns,
                                       multiplier=policy.multiplier))
    state.retry_policy = policy
    state.services.retry_policy_changed(state, policy)


def get_persistence(state: HostState):
    return _level_value(state.persistence)


def set_persistence(state: HostState, level) -> None:
    name = level.tag if isinstance(level, cm.Variant) else str(level)
    if name not in LEVELS:
        raise ValueError(f"unknown persistence level {name!r}")
    # Consult the cursor even under persist-nothing: the switch back was recorded.
    item = state.cursor.next()
    if item is not None:
        idx, entry = item
        if type(entry) is not ChangePersistenceLevel:
            raise divergence(idx, entry, "set-oplog-persistence-level")
    else:
        state.append(ChangePersistenceLevel(timestamp=time.time_ns(), level=name))
    state.persistence = name
    if name == "persist-nothing":
        state.unrecorded = True  # this invocation's result may legitimately differ on replay


def get_idempotence(state: HostState) -> bool:
    return state.idempotent


def set_idempotence(state: HostState, idempotent: bool) -> None:
    state.idempotent = bool(idempotent)


def generate_idempotency_key(state: HostState):
    u = state.durable("golem:api/host/generate-idempotency-key", "read-local", lambda: str(uuid.uuid4()))
    return uuid_record(u)


_FUNCTIONS = {
    "golem-create-promise": create_promise,
    "golem-await-promise": await_promise,
    "golem-complete-promise": complete_promise,
    "golem-delete-promise": delete_promise,
    "get-self-uri": get_self_uri,
    "get-oplog-index": get_oplog_index,
    "set-oplog-index": set_oplog_index,
    "oplog-commit": oplog_commit,
    "mark-begin-operation": mark_begin,
    "mark-end-operation": mark_end,
    "get-retry-policy": get_retry_policy,
    "set-retry-policy": set_retry_policy,
    "get-oplog-persistence-level": get_persistence,
    "set-oplog-persistence-level": set_persistence,
    "get-idempotence-mode": get_idempotence,
    "set-idempotence-mode": set_idempotence,
    "generate-idempotency-key": generate_idempotency_key,
}
