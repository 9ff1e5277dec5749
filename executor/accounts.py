"""Accounts and bearer tokens. Tokens are stored only as their SHA-256."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import uuid
from pathlib import Path

from oplog import AccountRecord, OplogStore, TokenRecord

from .datadir import existing_store_dir
from .errors import AlreadyExists, InvalidRequest

DEFAULT_ACCOUNT = "default"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return str(uuid.UUID(bytes=secrets.token_bytes(16), version=4))


class Accounts:
    # Tokens are never revoked, so a token once found can be remembered: every request
    # would otherwise hash it and read LMDB. Unknown tokens are looked up each time.
    _CACHE_LIMIT = 10_000

    def __init__(self, store: OplogStore):
        self.store = store
        self._known: dict[str, str] = {}

    def account_for_token(self, token: str) -> str | None:
        account = self._known.get(token)
        if account is not None:
            return account
        rec = self.store.get("tokens", token_hash(token))
        if rec is None:
            return None
        if len(self._known) >= self._CACHE_LIMIT:
            self._known.clear()
        self._known[token] = rec.account_id
        return rec.account_id

    def find(self, name: str) -> AccountRecord | None:
        for _, rec in self.store.scan("accounts"):
            if rec.name == name:
                return rec
        return None

    def create(self, name: str, token: str | None = None) -> tuple[AccountRecord, str]:
        """Create account `name` with a token (a new random one unless given). Durable on return."""
        if self.find(name) is not None:
            raise AlreadyExists(f"account {name!r} already exists")
        account_id = DEFAULT_ACCOUNT if name == DEFAULT_ACCOUNT else str(uuid.uuid4())
        rec = AccountRecord(account_id=account_id, name=name, created_at=time.time_ns())
        token = token or new_token()
        batch = self.store.batch()
        batch.put("accounts", account_id, rec)
        batch.put("tokens", token_hash(token), TokenRecord(account_id=account_id))
        self.store.submit(batch).wait()
        return rec, token

    def add_token(self, account_id: str, token: str) -> None:
        batch = self.store.batch()
        batch.put("tokens", token_hash(token), TokenRecord(account_id=account_id))
        self.store.submit(batch).wait()


ACCOUNT_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,100}")


def create_account_offline(data_dir: str | Path, name: str) -> str:
    """Create an account in a data dir the daemon is not running on; returns its token."""
    if not ACCOUNT_NAME.fullmatch(name):
        raise InvalidRequest(f"invalid account name {name!r}: 1 to 100 of A-Z a-z 0-9 _ . @ -")
    # A mistyped --data-dir would otherwise get a new, empty store, and a token that the
    # daemon (serving the real one) never accepts.
    store = OplogStore(existing_store_dir(data_dir))
    try:
        return Accounts(store).create(name)[1]
    finally:
        store.close()
