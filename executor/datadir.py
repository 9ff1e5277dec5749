"""The data dir's layout, and what is done to one offline: finding its store, backing it up."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from oplog.backup import copy_store

from .errors import AlreadyExists, NotFound

STORE_DIR = "oplog"   # the LMDB environment's folder inside the data dir
TOKEN_FILE = "token"  # the default account's token, written at the first start


def existing_store_dir(data_dir: str | Path) -> Path:
    """The store of a data dir the daemon has run on; NotFound for any other folder, so a
    mistyped path is an error rather than a new, empty store."""
    store_dir = Path(data_dir) / STORE_DIR
    if not store_dir.is_dir():
        raise NotFound(f"no golemite data in {data_dir}: start `golemite serve --data-dir {data_dir}` "
                       "there once first")
    return store_dir


def backup_data_dir(data_dir: str | Path, dest: str | Path) -> int:
    """Copy a data dir's durable state into the new folder `dest`, itself a data dir that
    `golemite serve --data-dir DEST` runs on; safe while the daemon serves. Returns the
    store copy's size in bytes.

    Everything durable is in the store (templates, workers and their oplogs, accounts,
    keys); the token file is copied for convenience. The compile cache is left out: it is
    rebuilt on demand.
    """
    store_dir = existing_store_dir(data_dir)
    dest = Path(dest)
    if dest.exists():
        raise AlreadyExists(f"{dest} already exists: back up into a new folder")
    size = copy_store(store_dir, dest / STORE_DIR)
    token = Path(data_dir) / TOKEN_FILE
    if token.is_file():
        shutil.copyfile(token, dest / TOKEN_FILE)
        os.chmod(dest / TOKEN_FILE, 0o600)
    return size
