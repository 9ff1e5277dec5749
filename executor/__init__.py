"""golemite executor: runs components durably on top of the oplog."""

from .accounts import DEFAULT_ACCOUNT, Accounts
from .errors import (
    AlreadyExists, ExecutorError, InvalidRequest, InvocationFailed, InvocationTimeout, LimitExceeded,
    NotFound, ReplayDivergence, WorkerInterrupted,
)
from .executor import CONVENTIONS, Executor, ExecutorConfig
from .worker import Worker

__all__ = [
    "Accounts", "AlreadyExists", "CONVENTIONS", "DEFAULT_ACCOUNT", "Executor", "ExecutorConfig", "ExecutorError",
    "InvalidRequest", "InvocationFailed", "InvocationTimeout", "LimitExceeded", "NotFound",
    "ReplayDivergence", "Worker", "WorkerInterrupted",
]
