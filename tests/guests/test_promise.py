"""The promise guest under plain wasmtime, against an in-test fake of golem:api/host."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
from wasmtime import Engine
from wasmtime import component as cm

Load = Callable[..., Any]
WASM = Path(__file__).resolve().parents[2] / "guests" / "promise" / "promise.wasm"

API = "golemite:promise/api"
HOST = "golem:api/host@0.2.0"


def record(**fields: Any) -> cm.Record:
    """A WIT record value: Python keyword names with `_` stand for WIT's `-`."""
    r = cm.Record()
    for name, value in fields.items():
        setattr(r, name.replace("_", "-"), value)
    return r


def promise_id(high: int, low: int, worker: str, idx: int) -> cm.Record:
    uuid = record(high_bits=high, low_bits=low)
    worker_id = record(template_id=record(uuid=uuid), worker_name=worker)
    return record(worker_id=worker_id, oplog_idx=idx)


def flat(pid: Any) -> tuple[int, int, str, int]:
    """A promise-id as a plain tuple, so a mismatch shows every field."""
    worker_id = getattr(pid, "worker-id")
    uuid = getattr(worker_id, "template-id").uuid
    return (
        getattr(uuid, "high-bits"),
        getattr(uuid, "low-bits"),
        getattr(worker_id, "worker-name"),
        getattr(pid, "oplog-idx"),
    )


class FakePromiseHost:
    """Records every golem:api/host call the guest makes and answers from fields."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.created = promise_id(0x0123_4567_89AB_CDEF, 2**64 - 1, "wörker-1", 7)
        self.awaited = b"promise data \x00\xff"
        self.complete_result = True

    def create(self, _store: Any) -> cm.Record:
        self.calls.append(("golem-create-promise",))
        return self.created

    def await_(self, _store: Any, pid: Any) -> bytes:
        self.calls.append(("golem-await-promise", flat(pid)))
        return self.awaited

    def complete(self, _store: Any, pid: Any, data: bytes) -> bool:
        self.calls.append(("golem-complete-promise", flat(pid), bytes(data)))
        return self.complete_result

    def delete(self, _store: Any, pid: Any) -> None:
        self.calls.append(("golem-delete-promise", flat(pid)))

    def link(self, linker: cm.Linker) -> None:
        with linker.root() as root:
            with root.add_instance(HOST) as host:
                host.add_func("golem-create-promise", self.create)
                host.add_func("golem-await-promise", self.await_)
                host.add_func("golem-complete-promise", self.complete)
                host.add_func("golem-delete-promise", self.delete)


@pytest.fixture
def fake() -> FakePromiseHost:
    return FakePromiseHost()


@pytest.fixture
def promise(guest: Load, fake: FakePromiseHost) -> Any:
    return guest("promise", link=fake.link)


def import_functions(engine: Engine, wasm: Path) -> dict[str, set[str]]:
    """Each imported interface of a component, with the functions it imports."""
    imports = cm.Component.from_file(engine, str(wasm)).type.imports(engine)
    return {
        name: {
            fname
            for fname, item in extern.ty.exports(engine).items()
            if isinstance(item.ty, cm.FuncType)
        }
        for name, extern in imports.items()
    }


def test_imports_only_promise_functions_and_stdout_writes() -> None:
    """The executor must serve every import; a stream `subscribe` would not link."""
    assert import_functions(Engine(), WASM) == {
        HOST: {
            "golem-create-promise",
            "golem-await-promise",
            "golem-complete-promise",
            "golem-delete-promise",
        },
        "wasi:cli/stdout@0.2.0": {"get-stdout"},
        "wasi:io/error@0.2.0": set(),
        "wasi:io/streams@0.2.0": {
            "[method]output-stream.blocking-write-and-flush",
        },
    }


def test_create_returns_the_host_promise_id(promise: Any, fake: FakePromiseHost) -> None:
    pid = promise.call(API, "create")
    assert flat(pid) == (0x0123_4567_89AB_CDEF, 2**64 - 1, "wörker-1", 7)
    assert pid == fake.created
    assert fake.calls == [("golem-create-promise",)]


def test_create_twice_gives_fresh_values(promise: Any, fake: FakePromiseHost) -> None:
    first = promise.call(API, "create")
    fake.created = promise_id(1, 2, "other", 8)
    second = promise.call(API, "create")
    assert flat(first)[3] == 7
    assert flat(second) == (1, 2, "other", 8)


def test_await_passes_the_id_and_returns_the_data(
    promise: Any, fake: FakePromiseHost
) -> None:
    data = promise.call(API, "await", promise_id(3, 4, "w", 12))
    assert data == b"promise data \x00\xff"
    assert fake.calls == [("golem-await-promise", (3, 4, "w", 12))]


def test_await_returns_large_and_empty_data(promise: Any, fake: FakePromiseHost) -> None:
    fake.awaited = bytes(range(256)) * 400
    assert promise.call(API, "await", promise_id(1, 1, "w", 1)) == fake.awaited
    fake.awaited = b""
    assert promise.call(API, "await", promise_id(1, 1, "w", 2)) == b""


@pytest.mark.parametrize("idx", [0, 7, 2**64 - 1])
def test_create_and_await_prints_the_index_then_awaits_it(
    guest: Load, fake: FakePromiseHost, idx: int
) -> None:
    fake.created = promise_id(5, 6, "waiter", idx)
    promise = guest("promise", link=fake.link)
    data = promise.call(API, "create-and-await")
    assert data == fake.awaited
    assert promise.stdout_text() == f"promise {idx}\n"
    assert fake.calls == [
        ("golem-create-promise",),
        ("golem-await-promise", (5, 6, "waiter", idx)),
    ]


@pytest.mark.parametrize("answer", [True, False])
def test_complete_passes_id_and_data(guest: Load, fake: FakePromiseHost, answer: bool) -> None:
    fake.complete_result = answer
    promise = guest("promise", link=fake.link)
    ok = promise.call(API, "complete", promise_id(9, 10, "target", 33), b"\x01\x02done")
    assert ok is answer
    assert fake.calls == [("golem-complete-promise", (9, 10, "target", 33), b"\x01\x02done")]


def test_delete_passes_the_id(promise: Any, fake: FakePromiseHost) -> None:
    assert promise.call(API, "delete", promise_id(2**63, 0, "gone", 4)) is None
    assert fake.calls == [("golem-delete-promise", (2**63, 0, "gone", 4))]


# Two 64 KiB pages of stack and data, two more pages for the heap.
MEMORY_LIMIT = 4 * 65536


def test_memory_limit_bites(promise: Any) -> None:
    """Guards the leak test below: a single allocation past the limit traps."""
    promise.store.set_limits(memory_size=MEMORY_LIMIT)
    with pytest.raises(Exception, match="unreachable"):
        promise.call(API, "delete", promise_id(1, 1, "w" * MEMORY_LIMIT, 1))


def test_host_allocations_are_freed(promise: Any, fake: FakePromiseHost) -> None:
    """Every export frees what the host allocated for it, also in post-return.

    Each loop allocates far more in total than the limit allows, so a single
    leak makes cabi_realloc fail and trap.
    """
    promise.store.set_limits(memory_size=MEMORY_LIMIT)
    name = "n" * 32768
    data = bytes(range(256)) * 24
    fake.awaited = data
    fake.created = promise_id(1, 2, name, 3)
    for i in range(40):
        assert promise.call(API, "await", promise_id(i, i, name, i)) == data
        assert promise.call(API, "complete", promise_id(i, i, name, i), data) is True
        promise.call(API, "delete", promise_id(i, i, name, i))
        assert flat(promise.call(API, "create")) == (1, 2, name, 3)
    for _ in range(10):
        assert promise.call(API, "create-and-await") == data
    assert len(fake.calls) == 40 * 4 + 10 * 2
    # Empty lists and strings take the zero-size allocation path.
    fake.awaited = b""
    fake.created = promise_id(0, 0, "", 0)
    for i in range(3):
        assert promise.call(API, "await", promise_id(i, i, "", i)) == b""
        assert promise.call(API, "complete", promise_id(i, i, "", i), b"") is True
        assert flat(promise.call(API, "create")) == (0, 0, "", 0)
        assert promise.call(API, "create-and-await") == b""
