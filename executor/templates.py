"""Templates: uploaded components, their versions, export metadata and the compile cache.

A version's wasm bytes live content-addressed in the oplog store's blob table; its
metadata (every export with typed params and results) is computed once at upload and
stored with it. Compiled machine code is cached on disk, keyed by content hash and engine
settings, so a restart deserializes in milliseconds instead of recompiling.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import msgspec
import structlog
from wasmtime import Engine, WasmtimeError
from wasmtime import component as cm

from oplog import OplogStore, TemplateRecord, TemplateVersionRecord

from . import types as T
from .codec import Lift, Lower, lifter, lowerer
from .engine import engine_fingerprint
from .errors import InvalidRequest, NotFound
from .host.linker import missing_imports

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class FunctionInfo:
    """One exported function, resolved and ready to call."""

    name: str                 # canonical: "ns:pkg/iface/func" or "func"
    interface: str | None     # exported interface name, None for world-level functions
    export_name: str          # the function's name inside its interface (or the world)
    params: list[T.Parameter]
    result: T.WitType | None
    lowerers: tuple[Lower, ...]
    lift: Lift | None
    has_handles: bool = False   # params name resources: converted on the guest thread only
    drops: str | None = None    # a resource's drop, not an export: the resource's name


@dataclass
class LoadedTemplate:
    template_id: str
    version: int
    component: cm.Component
    metadata: T.TemplateMetadata
    functions: dict[str, FunctionInfo]   # every accepted spelling -> info

    def resolve(self, name: str) -> FunctionInfo:
        info = self.functions.get(name)
        if info is None:
            known = sorted({f.name for f in self.functions.values()})
            raise InvalidRequest(f"unknown function {name!r}; this template exports: {', '.join(known)}")
        return info


def _resource_member(fname: str) -> tuple[str, str] | None:
    """(resource, member) of `[constructor]r` ("new"), `[method]r.m`, `[static]r.m`, `[drop]r` ("drop")."""
    for prefix, member in (("[constructor]", "new"), ("[drop]", "drop")):
        if fname.startswith(prefix):
            return fname[len(prefix):], member
    for prefix in ("[method]", "[static]"):
        if fname.startswith(prefix):
            res, _, method = fname[len(prefix):].partition(".")
            return res, method
    return None


def _resource_aliases(interface: str, fname: str) -> list[str]:
    """Golem's spellings of a resource's function: `interface/r/m` and `interface.{r.m}`."""
    found = _resource_member(fname)
    if found is None:
        return []
    res, member = found
    return [f"{interface}/{res}/{member}", f"{interface}.{{{res}.{member}}}"]


def _mentions_handle(t: T.WitType | None) -> bool:
    if t is None:
        return False
    if isinstance(t, T.Handle):
        return True
    if isinstance(t, (T.List, T.Option)):
        return _mentions_handle(t.inner)
    if isinstance(t, T.Tuple):
        return any(_mentions_handle(i) for i in t.items)
    if isinstance(t, T.Record):
        return any(_mentions_handle(f.typ) for f in t.fields)
    if isinstance(t, (T.Variant, T.Result)):
        return any(_mentions_handle(ct) for _, ct in T.variant_cases(t))
    return False


def function_index(metadata: T.TemplateMetadata) -> dict[str, FunctionInfo]:
    index: dict[str, FunctionInfo] = {}

    def add(interface: str | None, fname: str, params, results, drops: str | None = None):
        canonical = fname if interface is None else f"{interface}/{fname}"
        result = results[0].typ if results else None
        info = FunctionInfo(
            name=canonical, interface=interface, export_name=fname, params=list(params),
            result=result, lowerers=tuple(lowerer(p.typ) for p in params),
            lift=None if result is None else lifter(result),
            has_handles=any(_mentions_handle(p.typ) for p in params), drops=drops,
        )
        index[canonical] = info
        if interface is not None:
            index[f"{interface}.{{{fname}}}"] = info
            for alias in _resource_aliases(interface, fname):
                index.setdefault(alias, info)

    def add_drop(interface: str, resource: str) -> None:
        # Dropping a handle runs the guest's destructor (SPEC §6 `…/res/drop`). Made here,
        # not from the metadata, which lists it only for templates stored since it names resources.
        d = T.destructor(resource)
        add(interface, d.name, d.parameters, d.results, drops=resource)

    for export in metadata.exports:
        if isinstance(export, T.ExportedFunction):
            add(None, export.name, export.parameters, export.results)
        else:
            resources = set()
            for f in export.functions:
                found = _resource_member(f.name)
                if found is not None:
                    resources.add(found[0])
                if not f.name.startswith("[drop]"):  # add_drop makes those
                    add(export.name, f.name, f.parameters, f.results)
            for res in sorted(resources):
                add_drop(export.name, res)
    return index


class TemplateStore:
    """Uploads, versions and compiled components, persisted through the oplog store."""

    def __init__(self, store: OplogStore, engine: Engine, cache_dir: Path):
        self._store = store
        self._engine = engine
        self._cache_dir = Path(cache_dir)
        self._cache_dir.mkdir(parents=True, exist_ok=True)
        self._fingerprint = engine_fingerprint()
        self._loaded: dict[tuple[str, int], LoadedTemplate] = {}
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- uploads

    def _compile(self, wasm: bytes) -> tuple[cm.Component, T.TemplateMetadata]:
        if not wasm:
            raise InvalidRequest("the template body is empty; upload a WebAssembly component (.wasm)")
        if wasm[:4] != b"\0asm":
            raise InvalidRequest("the template is not a WebAssembly binary (it does not start with \\0asm)")
        try:
            component = cm.Component(self._engine, wasm)
        except WasmtimeError as invalid:  # one name per exception type (see instance._call)
            first = str(invalid).strip().splitlines()[0] if str(invalid).strip() else "invalid"
            raise InvalidRequest(f"the template is not a valid WebAssembly component: {first}") from None
        missing = missing_imports(self._engine, component)
        if missing:
            raise InvalidRequest(
                f"the template imports {', '.join(missing)}, which golemite does not provide; it provides "
                "WASI 0.2 (cli, clocks, filesystem, io, random, sockets), wasi:logging/logging and "
                "golem:api/host@0.2.x")
        try:
            metadata = T.analyse_component(self._engine, component)
        except TypeError as undescribable:
            raise InvalidRequest(f"the template's exports cannot be described: {undescribable}") from None
        return component, metadata

    async def add(self, account_id: str, name: str, wasm: bytes) -> tuple[TemplateRecord, TemplateVersionRecord]:
        if not name or len(name) > 255:
            raise InvalidRequest("template name must be 1 to 255 characters")
        component, metadata = self._compile(wasm)
        template_id = str(uuid.uuid4())
        now = time.time_ns()
        record = TemplateRecord(template_id=template_id, name=name, account_id=account_id,
                                latest_version=0, created_at=now)
        version = await self._store_version(record, 0, wasm, component, metadata, now)
        return record, version

    async def update(self, account_id: str, template_id: str, wasm: bytes) -> tuple[TemplateRecord, TemplateVersionRecord]:
        record = self.get_record(account_id, template_id)
        component, metadata = self._compile(wasm)
        now = time.time_ns()
        with self._lock:
            record = self.get_record(account_id, template_id)
            next_version = record.latest_version + 1
            record = msgspec.structs.replace(record, latest_version=next_version)
        version = await self._store_version(record, next_version, wasm, component, metadata, now)
        return record, version

    async def _store_version(self, record, version, wasm, component, metadata, now):
        sha = hashlib.sha256(wasm).hexdigest()
        vrec = TemplateVersionRecord(template_id=record.template_id, version=version, size=len(wasm),
                                     sha256=sha, metadata=msgspec.to_builtins(metadata), created_at=now)
        self._write_cache(sha, component)
        batch = self._store.batch()
        if self._store.get_blob(sha) is None:
            batch.put_blob(sha, wasm)
        batch.put("template_versions", f"{record.template_id}/{version:010d}", vrec)
        batch.put("templates", record.template_id, record)
        await self._store.commit(batch)
        with self._lock:
            self._loaded[(record.template_id, version)] = LoadedTemplate(
                record.template_id, version, component, metadata, function_index(metadata))
        log.info("template stored", template_id=record.template_id, version=version, size=len(wasm))
        return vrec

    # ---------------------------------------------------------------- queries

    def get_record(self, account_id: str, template_id: str) -> TemplateRecord:
        record = self._store.get("templates", template_id)
        if record is None or record.account_id != account_id:
            raise NotFound(f"template {template_id} not found")
        return record

    def versions(self, account_id: str, template_id: str) -> list[TemplateVersionRecord]:
        self.get_record(account_id, template_id)
        return [v for _, v in self._store.scan("template_versions", prefix=f"{template_id}/")]

    def version(self, account_id: str, template_id: str, version: int | None = None) -> TemplateVersionRecord:
        record = self.get_record(account_id, template_id)
        v = record.latest_version if version is None else version
        vrec = self._store.get("template_versions", f"{template_id}/{v:010d}")
        if vrec is None:
            raise NotFound(f"template {template_id} has no version {v}")
        return vrec

    def list(self, account_id: str, name: str | None = None) -> list[TemplateRecord]:
        return [r for _, r in self._store.scan("templates")
                if r.account_id == account_id and (name is None or r.name == name)]

    def download(self, account_id: str, template_id: str, version: int | None = None) -> bytes:
        vrec = self.version(account_id, template_id, version)
        data = self._store.get_blob(vrec.sha256)
        if data is None:
            raise NotFound(f"template {template_id} version {vrec.version} has no stored bytes")
        return data

    # ---------------------------------------------------------------- loading

    def load(self, template_id: str, version: int) -> LoadedTemplate:
        """The compiled component of one version (memory, then disk cache, then compile)."""
        key = (template_id, version)
        loaded = self._loaded.get(key)
        if loaded is not None:
            return loaded
        vrec = self._store.get("template_versions", f"{template_id}/{version:010d}")
        if vrec is None:
            raise NotFound(f"template {template_id} has no version {version}")
        component = self._read_cache(vrec.sha256)
        if component is None:
            wasm = self._store.get_blob(vrec.sha256)
            if wasm is None:
                raise NotFound(f"template {template_id} version {version} has no stored bytes")
            component = cm.Component(self._engine, wasm)
            self._write_cache(vrec.sha256, component)
        metadata = msgspec.convert(vrec.metadata, T.TemplateMetadata)
        loaded = LoadedTemplate(template_id, version, component, metadata, function_index(metadata))
        with self._lock:
            self._loaded.setdefault(key, loaded)
            return self._loaded[key]

    def _cache_path(self, sha: str) -> Path:
        return self._cache_dir / f"{sha}-{self._fingerprint}.cwasm"

    def _read_cache(self, sha: str) -> cm.Component | None:
        path = self._cache_path(sha)
        if not path.exists():
            return None
        try:
            return cm.Component.deserialize_file(self._engine, str(path))
        except WasmtimeError as e:
            # A stale or torn cache file is only a lost optimisation: recompile.
            log.warning("compile cache entry unusable; recompiling", path=path.name, error=str(e))
            return None

    def _write_cache(self, sha: str, component: cm.Component) -> None:
        path = self._cache_path(sha)
        if path.exists():
            return
        tmp = path.with_suffix(f".tmp{os.getpid()}.{threading.get_ident()}")
        tmp.write_bytes(bytes(component.serialize()))
        os.replace(tmp, path)
