"""Resource handles a worker has handed out, named `worker://{templateId}/{workerName}/{id}`.

Ids count up per instance in the order handles are returned to callers. Replay re-runs
the same invocations in the same order, so a rebuilt instance hands out the same ids
again and a handle a client holds keeps naming the same resource across restarts.
"""

from __future__ import annotations

from typing import Any


class HandleError(ValueError):
    pass


class HandleTable:
    __slots__ = ("prefix", "_live", "_next")

    def __init__(self, template_id: str, worker_name: str):
        self.prefix = f"worker://{template_id}/{worker_name}/"
        self._live: dict[int, Any] = {}
        self._next = 1

    def export(self, resource: Any) -> str:
        """A resource the guest returned: give it an id the caller can send back."""
        handle_id = self._next
        self._next += 1
        self._live[handle_id] = resource
        return f"{self.prefix}{handle_id}"

    def lookup(self, uri: str) -> tuple[int, Any]:
        if not uri.startswith(self.prefix):
            raise HandleError(f"{uri!r} is not a resource handle of this worker ({self.prefix}N)")
        number = uri[len(self.prefix):]
        # Exactly as handed out: int() would also take '01', ' 1', '+1' or other digits.
        if not (number.isascii() and number.isdigit()) or number.startswith("0"):
            raise HandleError(f"{uri!r} does not end in a handle number")
        handle_id = int(number)
        resource = self._live.get(handle_id)
        if resource is None:
            raise HandleError(f"resource handle {uri} does not exist (dropped, or never handed out)")
        return handle_id, resource

    def take(self, uri: str) -> Any:
        """The resource, removed from the table: its ownership moves into the guest."""
        handle_id, resource = self.lookup(uri)
        del self._live[handle_id]
        return resource
