"""golemite oplog: durable per-worker logs and index tables on LMDB.

Knows nothing of wasm or HTTP. The executor uses only the names exported here.

    store = OplogStore(data_dir / "oplog")          # starts the writer thread
    b = store.batch()
    b.create_log(key)                               # key = worker_key(template_id, name)
    idx = b.append(key, Create(...))                # the index is known at once (1 here)
    b.put(Table.WORKERS, key, WorkerRecord(...))
    store.submit(b).wait()                          # or: await store.commit(b)
    store.read(key)                                 # [(1, Create(...))], committed data only
    store.close()

Submit a batch promptly once it holds indexes: until it is submitted (or
discarded, or dropped), later entries of the same worker wait for it, so the
log on disk never has a hole.
"""

from .native import package_path

# Compiled hot modules, when built and fresh, load ahead of their source (oplog/native.py).
__path__ = package_path(__name__, __path__)

from .batch import Batch
from .commit import Commit
from .entries import (
    ENTRY_KINDS,
    AnyEntry,
    BeginAtomicRegion,
    BeginRemoteWrite,
    ChangePersistenceLevel,
    ChangeRetryPolicy,
    CompletePromise,
    Create,
    CreatePromise,
    EndAtomicRegion,
    EndRemoteWrite,
    Entry,
    Error,
    Exited,
    ExportedFunctionCompleted,
    ExportedFunctionInvoked,
    ImportedFunctionInvoked,
    Interrupted,
    Jump,
    NoOp,
    PendingWorkerInvocation,
    InvocationRejected,
    Resume,
    Suspend,
    decode_entry,
    encode_entry,
)
from .errors import (
    CorruptEntry,
    OplogError,
    StoreClosed,
    UnknownFormatVersion,
    WorkerExists,
    WriterFailed,
)
from .encoding import recordable
from .indexes import DerivedIndexes, derive_indexes
from .records import (
    TABLE_TYPES,
    AccountRecord,
    InvocationKeyRecord,
    PromiseRecord,
    TemplateRecord,
    TemplateVersionRecord,
    TokenRecord,
    WorkerRecord,
    decode_record,
    encode_record,
)
from .scheduling import (
    DEFAULT as DEFAULT_THREAD_POLICY, POLICIES as THREAD_POLICIES, check_policy as check_thread_policy,
    prepare_helper_thread,
)
from .store import Durability, OplogStore
from .tables import OPLOG_DB, Table, promise_key, template_version_key, worker_key, worker_keys_key

__all__ = [
    "DEFAULT_THREAD_POLICY",
    "ENTRY_KINDS",
    "OPLOG_DB",
    "TABLE_TYPES",
    "THREAD_POLICIES",
    "AccountRecord",
    "AnyEntry",
    "Batch",
    "BeginAtomicRegion",
    "BeginRemoteWrite",
    "ChangePersistenceLevel",
    "ChangeRetryPolicy",
    "Commit",
    "CompletePromise",
    "CorruptEntry",
    "Create",
    "CreatePromise",
    "DerivedIndexes",
    "Durability",
    "EndAtomicRegion",
    "EndRemoteWrite",
    "Entry",
    "Error",
    "Exited",
    "ExportedFunctionCompleted",
    "ExportedFunctionInvoked",
    "ImportedFunctionInvoked",
    "Interrupted",
    "InvocationKeyRecord",
    "Jump",
    "NoOp",
    "OplogError",
    "OplogStore",
    "PendingWorkerInvocation",
    "InvocationRejected",
    "PromiseRecord",
    "Resume",
    "StoreClosed",
    "Suspend",
    "Table",
    "TemplateRecord",
    "TemplateVersionRecord",
    "TokenRecord",
    "UnknownFormatVersion",
    "WorkerExists",
    "WorkerRecord",
    "WriterFailed",
    "check_thread_policy",
    "decode_entry",
    "decode_record",
    "derive_indexes",
    "encode_entry",
    "encode_record",
    "prepare_helper_thread",
    "promise_key",
    "recordable",
    "template_version_key",
    "worker_key",
    "worker_keys_key",
]
