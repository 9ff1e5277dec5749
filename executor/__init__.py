"""golemite executor: runs components durably on top of the oplog."""

from oplog.native import package_path

# Compiled hot modules, when built and fresh, load ahead of their source (oplog/native.py).
__path__ = package_path(__name__, __path__)

from .accounts import DEFAULT_ACCOUNT, Accounts, create_account_offline
from .datadir import TOKEN_FILE, backup_data_dir
from .errors import (
    AlreadyExists, ExecutorError, InvalidRequest, InvocationFailed, InvocationTimeout, LimitExceeded,
    NotFound, ReplayDivergence, WorkerInterrupted,
)
from .executor import CONVENTIONS, Executor, ExecutorConfig
from .worker import Worker

__all__ = [
    "Accounts", "AlreadyExists", "backup_data_dir", "CONVENTIONS", "create_account_offline", "DEFAULT_ACCOUNT",
    "Executor", "ExecutorConfig", "ExecutorError", "InvalidRequest", "InvocationFailed", "InvocationTimeout",
    "LimitExceeded", "NotFound", "ReplayDivergence", "TOKEN_FILE", "Worker", "WorkerInterrupted",
]
