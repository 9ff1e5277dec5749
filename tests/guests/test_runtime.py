"""The runtime guest under plain wasmtime, against an in-test fake of golem:api/host."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import pytest
from wasmtime import Engine
from wasmtime import component as cm

Load = Callable[..., Any]
GUESTS = Path(__file__).resolve().parents[2] / "guests"
API = "golemite:runtime/api"
HOST = "golem:api/host@0.2.0"
# wasmtime registers WASI as 0.2.12 and serves 0.2.0 imports from it.
RANDOM = "wasi:random/random@0.2.12"


def record(**fields: Any) -> cm.Record:
    """A WIT record value: Python keyword names with `_` stand for WIT's `-`."""
    r = cm.Record()
    for name, value in fields.items():
        setattr(r, name.replace("_", "-"), value)
    return r


def fields(r: Any) -> dict[str, Any]:
    return dict(vars(r))


def retry_policy(attempts: int, min_delay: int, max_delay: int, multiplier: int) -> cm.Record:
    return record(
        max_attempts=attempts, min_delay=min_delay, max_delay=max_delay, multiplier=multiplier
    )


class FakeRuntimeHost:
    """golem:api/host plus wasi:random get-random-u64, logging calls in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.index = 10
        self.index_step = 1
        self.begin = 42
        self.retry = retry_policy(3, 100_000_000, 2**64 - 1, 2**32 - 1)
        self.level = cm.Variant("smart")
        self.idempotent = True
        self.key = record(high_bits=2**64 - 1, low_bits=1)
        self.randoms = [0x1111, 0x2_0000_0000, 2**63 + 5, 0x0F0F]
        self.drawn = 0
        self.complete_result = True

    def get_self_uri(self, _store: Any, name: str) -> cm.Record:
        self.calls.append(("get-self-uri", name))
        return record(value=f"worker://tmpl/wörker/{name}")

    def get_oplog_index(self, _store: Any) -> int:
        self.calls.append(("get-oplog-index",))
        idx = self.index
        self.index += self.index_step
        return idx

    def set_oplog_index(self, _store: Any, idx: int) -> None:
        self.calls.append(("set-oplog-index", idx))

    def oplog_commit(self, _store: Any, replicas: int) -> None:
        self.calls.append(("oplog-commit", replicas))

    def mark_begin(self, _store: Any) -> int:
        self.calls.append(("mark-begin-operation",))
        return self.begin

    def mark_end(self, _store: Any, begin: int) -> None:
        self.calls.append(("mark-end-operation", begin))

    def get_retry(self, _store: Any) -> cm.Record:
        self.calls.append(("get-retry-policy",))
        return self.retry

    def set_retry(self, _store: Any, policy: Any) -> None:
        self.calls.append(("set-retry-policy", fields(policy)))
        self.retry = policy

    def get_level(self, _store: Any) -> cm.Variant:
        self.calls.append(("get-oplog-persistence-level",))
        return self.level

    def set_level(self, _store: Any, level: Any) -> None:
        assert isinstance(level, cm.Variant) and level.payload is None
        self.calls.append(("set-oplog-persistence-level", level.tag))
        self.level = level

    def get_idempotence(self, _store: Any) -> bool:
        self.calls.append(("get-idempotence-mode",))
        return self.idempotent

    def set_idempotence(self, _store: Any, idempotent: bool) -> None:
        self.calls.append(("set-idempotence-mode", idempotent))
        self.idempotent = idempotent

    def idempotency_key(self, _store: Any) -> cm.Record:
        self.calls.append(("generate-idempotency-key",))
        return self.key

    def complete_promise(self, _store: Any, pid: Any, data: bytes) -> bool:
        worker_id = getattr(pid, "worker-id")
        uuid = getattr(worker_id, "template-id").uuid
        flat = (
            getattr(uuid, "high-bits"),
            getattr(uuid, "low-bits"),
            getattr(worker_id, "worker-name"),
            getattr(pid, "oplog-idx"),
        )
        self.calls.append(("golem-complete-promise", flat, bytes(data)))
        return self.complete_result

    def random_u64(self, _store: Any) -> int:
        self.calls.append(("get-random-u64",))
        value = self.randoms[self.drawn % len(self.randoms)]
        self.drawn += 1
        return value

    def link(self, linker: cm.Linker) -> None:
        funcs = {
            "get-self-uri": self.get_self_uri,
            "get-oplog-index": self.get_oplog_index,
            "set-oplog-index": self.set_oplog_index,
            "oplog-commit": self.oplog_commit,
            "mark-begin-operation": self.mark_begin,
            "mark-end-operation": self.mark_end,
            "get-retry-policy": self.get_retry,
            "set-retry-policy": self.set_retry,
            "get-oplog-persistence-level": self.get_level,
            "set-oplog-persistence-level": self.set_level,
            "get-idempotence-mode": self.get_idempotence,
            "set-idempotence-mode": self.set_idempotence,
            "generate-idempotency-key": self.idempotency_key,
            "golem-complete-promise": self.complete_promise,
        }
        with linker.root() as root:
            with root.add_instance(HOST) as host:
                for name, fn in funcs.items():
                    host.add_func(name, fn)
            with root.add_instance(RANDOM) as random:
                random.add_func("get-random-u64", self.random_u64)


@pytest.fixture
def fake() -> FakeRuntimeHost:
    return FakeRuntimeHost()


@pytest.fixture
def runtime(guest: Load, fake: FakeRuntimeHost) -> Any:
    return guest("runtime", link=fake.link)


def import_functions(engine: Engine, name: str) -> dict[str, set[str]]:
    """Each imported interface of a guest, with the functions it imports."""
    wasm = GUESTS / name / f"{name}.wasm"
    imports = cm.Component.from_file(engine, str(wasm)).type.imports(engine)
    return {
        iface: {
            fname
            for fname, item in extern.ty.exports(engine).items()
            if isinstance(item.ty, cm.FuncType)
        }
        for iface, extern in imports.items()
    }


def host_wit_functions() -> set[str]:
    text = (GUESTS / "wit" / "deps" / "golem-api" / "host.wit").read_text()
    return set(re.findall(r"^\s*([a-z][a-z0-9-]*): func\(", text, re.MULTILINE))


def test_imports_are_the_host_api_random_and_stdout_writes() -> None:
    imports = import_functions(Engine(), "runtime")
    assert imports.pop(HOST) == host_wit_functions() - {
        "golem-create-promise",
        "golem-await-promise",
        "golem-delete-promise",
    }
    assert imports == {
        # Type-only imports: the host API takes `uri` and `duration` from them.
        "golem:rpc/types@0.1.0": set(),
        "wasi:clocks/monotonic-clock@0.2.0": set(),
        "wasi:random/random@0.2.0": {"get-random-u64"},
        "wasi:cli/stdout@0.2.0": {"get-stdout"},
        "wasi:io/error@0.2.0": set(),
        "wasi:io/streams@0.2.0": {"[method]output-stream.blocking-write-and-flush"},
    }


def test_promise_and_runtime_together_import_the_whole_host_api() -> None:
    engine = Engine()
    imported = import_functions(engine, "promise")[HOST]
    imported |= import_functions(engine, "runtime")[HOST]
    assert len(host_wit_functions()) == 17
    assert imported == host_wit_functions()


@pytest.mark.parametrize("name", ["promise", "runtime"])
@pytest.mark.parametrize("package", ["golem-api", "golem-rpc"])
def test_guest_wit_copies_match_the_shared_packages(name: str, package: str) -> None:
    """build.sh refreshes these copies; a stale one means the .wasm is stale too."""
    shared = GUESTS / "wit" / "deps" / package
    copy = GUESTS / name / "wit" / "deps" / package
    assert sorted(p.name for p in copy.iterdir()) == sorted(p.name for p in shared.iterdir())
    for f in shared.iterdir():
        assert (copy / f.name).read_text() == f.read_text()


def test_self_uri_returns_the_uri_value(runtime: Any, fake: FakeRuntimeHost) -> None:
    assert runtime.call(API, "self-uri", "golem:it/api/add-item") == (
        "worker://tmpl/wörker/golem:it/api/add-item"
    )
    assert runtime.call(API, "self-uri", "") == "worker://tmpl/wörker/"
    assert fake.calls == [("get-self-uri", "golem:it/api/add-item"), ("get-self-uri", "")]


def test_oplog_index_reads_the_host_index(runtime: Any, fake: FakeRuntimeHost) -> None:
    fake.index = 2**64 - 2
    assert runtime.call(API, "oplog-index") == 2**64 - 2
    assert runtime.call(API, "oplog-index") == 2**64 - 1
    assert fake.calls == [("get-oplog-index",)] * 2


def test_jump_travels_back_to_its_first_index_when_close(
    runtime: Any, fake: FakeRuntimeHost
) -> None:
    # A host that ignores the jump: the guest returns after one pass.
    assert runtime.call(API, "jump") == 2
    assert fake.calls == [
        ("get-oplog-index",),
        ("get-oplog-index",),
        ("set-oplog-index", 10),
        ("get-oplog-index",),
    ]
    assert runtime.stdout_text() == "jump start\njump end\n"


def test_jump_does_not_travel_when_the_index_moved_far(guest: Load, fake: FakeRuntimeHost) -> None:
    # What the second pass on a durable executor sees: the index moved on by
    # the first pass's entries, so the guard stops a second jump.
    fake.index_step = 5
    runtime = guest("runtime", link=fake.link)
    assert runtime.call(API, "jump") == 10
    assert ("set-oplog-index", 10) not in fake.calls
    assert fake.calls == [("get-oplog-index",)] * 3
    assert runtime.stdout_text() == "jump start\njump end\n"


@pytest.mark.parametrize("replicas", [0, 3, 255])
def test_commit_passes_replicas(guest: Load, fake: FakeRuntimeHost, replicas: int) -> None:
    runtime = guest("runtime", link=fake.link)
    assert runtime.call(API, "commit", replicas) is None
    assert fake.calls == [("oplog-commit", replicas)]


def test_atomic_region_brackets_a_random_draw(runtime: Any, fake: FakeRuntimeHost) -> None:
    assert runtime.call(API, "atomic-region", False) == 0x1111
    assert fake.calls == [
        ("mark-begin-operation",),
        ("get-random-u64",),
        ("mark-end-operation", 42),
    ]
    assert runtime.stdout_text() == "in region\n"


def test_atomic_region_that_fails_traps_before_ending(runtime: Any, fake: FakeRuntimeHost) -> None:
    with pytest.raises(Exception, match="unreachable"):
        runtime.call(API, "atomic-region", True)
    assert fake.calls == [("mark-begin-operation",), ("get-random-u64",)]
    assert runtime.stdout_text() == "in region\n"


def test_get_retry_returns_the_host_policy(runtime: Any, fake: FakeRuntimeHost) -> None:
    policy = runtime.call(API, "get-retry")
    assert fields(policy) == {
        "max-attempts": 3,
        "min-delay": 100_000_000,
        "max-delay": 2**64 - 1,
        "multiplier": 2**32 - 1,
    }
    assert fake.calls == [("get-retry-policy",)]


def test_set_retry_passes_every_field(runtime: Any, fake: FakeRuntimeHost) -> None:
    assert runtime.call(API, "set-retry", retry_policy(7, 1, 2**63, 2)) is None
    assert fake.calls == [
        (
            "set-retry-policy",
            {"max-attempts": 7, "min-delay": 1, "max-delay": 2**63, "multiplier": 2},
        )
    ]
    assert fields(runtime.call(API, "get-retry"))["max-delay"] == 2**63


LEVELS = ["persist-nothing", "persist-remote-side-effects", "smart"]


@pytest.mark.parametrize("level", LEVELS)
def test_persistence_level_round_trips(guest: Load, fake: FakeRuntimeHost, level: str) -> None:
    runtime = guest("runtime", link=fake.link)
    assert runtime.call(API, "set-persistence", cm.Variant(level)) is None
    assert runtime.call(API, "get-persistence") == cm.Variant(level)
    assert fake.calls == [
        ("set-oplog-persistence-level", level),
        ("get-oplog-persistence-level",),
    ]


@pytest.mark.parametrize("previous", ["smart", "persist-remote-side-effects"])
def test_random_without_persistence_restores_the_level(
    guest: Load, fake: FakeRuntimeHost, previous: str
) -> None:
    fake.level = cm.Variant(previous)
    runtime = guest("runtime", link=fake.link)
    expected = 0x1111 ^ 0x2_0000_0000 ^ (2**63 + 5)
    assert runtime.call(API, "random-without-persistence", 3) == expected
    assert fake.calls == [
        ("get-oplog-persistence-level",),
        ("set-oplog-persistence-level", "persist-nothing"),
        ("get-random-u64",),
        ("get-random-u64",),
        ("get-random-u64",),
        ("set-oplog-persistence-level", previous),
    ]
    assert fake.level == cm.Variant(previous)


def test_random_without_persistence_of_nothing_is_zero(
    runtime: Any, fake: FakeRuntimeHost
) -> None:
    assert runtime.call(API, "random-without-persistence", 0) == 0
    assert fake.calls == [
        ("get-oplog-persistence-level",),
        ("set-oplog-persistence-level", "persist-nothing"),
        ("set-oplog-persistence-level", "smart"),
    ]


def test_idempotence_mode_round_trips(runtime: Any, fake: FakeRuntimeHost) -> None:
    assert runtime.call(API, "get-idempotence") is True
    assert runtime.call(API, "set-idempotence", False) is None
    assert runtime.call(API, "get-idempotence") is False
    assert runtime.call(API, "set-idempotence", True) is None
    assert fake.calls == [
        ("get-idempotence-mode",),
        ("set-idempotence-mode", False),
        ("get-idempotence-mode",),
        ("set-idempotence-mode", True),
    ]


def test_idempotency_key_returns_the_host_uuid(runtime: Any, fake: FakeRuntimeHost) -> None:
    key = runtime.call(API, "idempotency-key")
    assert fields(key) == {"high-bits": 2**64 - 1, "low-bits": 1}
    fake.key = record(high_bits=0, low_bits=2**64 - 2)
    assert fields(runtime.call(API, "idempotency-key")) == {"high-bits": 0, "low-bits": 2**64 - 2}
    assert fake.calls == [("generate-idempotency-key",)] * 2


@pytest.mark.parametrize("answer", [True, False])
def test_complete_other_builds_the_promise_id(
    guest: Load, fake: FakeRuntimeHost, answer: bool
) -> None:
    fake.complete_result = answer
    runtime = guest("runtime", link=fake.link)
    ok = runtime.call(API, "complete-other", 2**64 - 1, 17, "other-wörker", 9, b"\x00payload\xff")
    assert ok is answer
    assert fake.calls == [
        ("golem-complete-promise", (2**64 - 1, 17, "other-wörker", 9), b"\x00payload\xff")
    ]


# Two 64 KiB pages of stack and data, two more pages for the heap.
MEMORY_LIMIT = 4 * 65536


def test_memory_limit_bites(runtime: Any) -> None:
    """Guards the leak test below: a single allocation past the limit traps."""
    runtime.store.set_limits(memory_size=MEMORY_LIMIT)
    with pytest.raises(Exception, match="unreachable"):
        runtime.call(API, "self-uri", "x" * MEMORY_LIMIT)


def test_host_allocations_are_freed(runtime: Any, fake: FakeRuntimeHost) -> None:
    """Strings and lists the host passes in or returns are freed.

    The loop allocates far more in total than the limit allows, so a single
    leak makes cabi_realloc fail and trap.
    """
    runtime.store.set_limits(memory_size=MEMORY_LIMIT)
    name = "f" * 32768
    data = bytes(range(256)) * 24
    for i in range(40):
        assert runtime.call(API, "self-uri", name) == "worker://tmpl/wörker/" + name
        assert runtime.call(API, "complete-other", i, i, name, i, data) is True
    # Empty strings and lists take the zero-size allocation path.
    assert runtime.call(API, "complete-other", 0, 0, "", 0, b"") is True
    assert runtime.call(API, "self-uri", "") == "worker://tmpl/wörker/"
