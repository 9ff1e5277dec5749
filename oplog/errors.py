"""Errors raised by the oplog package: one base class, one subclass per cause."""

from __future__ import annotations


class OplogError(Exception):
    """Base class of every error the oplog package raises on purpose."""


class WorkerExists(OplogError):
    """A log was created for a worker key that already has one (committed or in flight)."""


class UnknownFormatVersion(OplogError):
    """A stored value starts with a format-version byte this code does not know."""


class CorruptEntry(OplogError):
    """Stored bytes could not be decoded (torn, truncated or not ours)."""


class StoreClosed(OplogError):
    """The store was used after `close()`."""


class WriterFailed(OplogError):
    """An earlier commit failed; the store refuses further writes.

    Indexes were already handed out for the failed batch, so accepting more
    appends would make the caller believe in a log that is not on disk.
    The original error is attached as ``__cause__``.
    """
