"""The logging guest under plain wasmtime, with a fake wasi:logging/logging."""

from __future__ import annotations

from wasmtime import component as cm

from tests.guests.conftest import load_guest

API = "golemite:logging/api"


def test_say_logs_through_wasi_logging() -> None:
    seen: list[tuple] = []

    def link(linker: cm.Linker) -> None:
        with linker.root() as root:
            with root.add_instance("wasi:logging/logging") as iface:
                iface.add_func("log", lambda _store, level, context, message: seen.append((level, context, message)))

    g = load_guest("logging", link=link)
    assert g.call(API, "say", 3, "disk almost full") == 1
    assert g.call(API, "say", 0, "") == 2
    assert g.call(API, "say", 9, "héllo") == 3  # out-of-range levels log at info
    assert seen == [("warn", "logging-guest", "disk almost full"), ("trace", "logging-guest", ""),
                    ("info", "logging-guest", "héllo")]
