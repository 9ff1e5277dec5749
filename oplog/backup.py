"""A consistent copy of a store, taken while a daemon may be writing to it."""

from __future__ import annotations

from pathlib import Path

import lmdb

from .store import _MAX_DBS, _MAX_READERS


def copy_store(path: str | Path, dest: str | Path) -> int:
    """Copy the store at `path` into the new folder `dest`; returns the copy's size in bytes.

    LMDB copies inside one read transaction: the copy is the store as of one commit, with
    every commit before it whole and none after it, even while another process writes
    (copying the files instead can tear a page mid-commit). Compacted: free pages are left
    out. The source is opened read-only and never changed.
    """
    src, dest = Path(path), Path(dest)
    if not (src / "data.mdb").is_file():
        raise FileNotFoundError(f"no store in {src}")
    dest.mkdir(parents=True, exist_ok=False)
    env = lmdb.open(str(src), readonly=True, lock=True, subdir=True, create=False,
                    max_dbs=_MAX_DBS, max_readers=_MAX_READERS)
    try:
        env.copy(str(dest), compact=True)
    finally:
        env.close()
    return (dest / "data.mdb").stat().st_size
