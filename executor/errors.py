"""The executor's domain errors. The API maps each to one HTTP status in one place."""

from __future__ import annotations


class ExecutorError(Exception):
    """Base of every error the executor reports to a caller."""


class InvalidRequest(ExecutorError):
    """The request cannot be carried out as given (HTTP 400). `errors` lists every reason."""

    def __init__(self, *errors: str):
        self.errors = list(errors)
        super().__init__("; ".join(errors))


class NotFound(ExecutorError):
    """No such template, worker, version or promise for this account (HTTP 404)."""


class AlreadyExists(ExecutorError):
    """A worker of that name already exists for the template (HTTP 409)."""


class LimitExceeded(ExecutorError):
    """An account limit would be exceeded (HTTP 403)."""


class InvocationFailed(ExecutorError):
    """The invocation ran and failed: a trap, an exit, or an earlier failure (HTTP 500)."""


class WorkerInterrupted(InvocationFailed):
    """The worker was interrupted while this invocation was running or waiting."""

    def __init__(self, message: str = "interrupted: the worker was interrupted"):
        super().__init__(message)


class InvocationTimeout(ExecutorError):
    """The caller stopped waiting; the invocation goes on (HTTP 504)."""


class ReplayDivergence(ExecutorError):
    """Replay met a recorded entry that does not match what the guest did now."""
