"""Build msgspec's per-type encoding info on one thread before guest threads start.

msgspec fills a Struct type's encoding/conversion info lazily, on first use. Guest
threads encode oplog entries and records concurrently, and two threads doing that
first use at the same moment crashed the interpreter (seen: a segfault in
`msgspec.convert`). Encoding one instance of every type up front removes the race.
"""

from __future__ import annotations

import msgspec

from oplog import ENTRY_KINDS, TABLE_TYPES, encode_entry, encode_record

from . import types as T

_done = False


def _sample(tp):
    fields = {}
    for name, ftype in zip(tp.__struct_fields__, msgspec.structs.fields(tp)):
        if ftype.required:
            fields[name] = _value_for(ftype.type)
    return tp(**fields)


def _value_for(tp):
    if tp is int:
        return 0
    if tp is str:
        return ""
    if tp is bool:
        return False
    if tp is bytes:
        return b""
    return None


def warm_up() -> None:
    global _done
    if _done:
        return
    for tp in ENTRY_KINDS.values():
        try:
            encode_entry(_sample(tp))
        except (TypeError, msgspec.ValidationError):
            pass
    for table, tp in TABLE_TYPES.items():
        if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
            try:
                encode_record(table, _sample(tp))
            except (TypeError, msgspec.ValidationError, Exception):  # noqa: BLE001 - best effort
                pass
    encoder = msgspec.json.Encoder()
    for tp in (T.Bool, T.S8, T.S16, T.S32, T.S64, T.U8, T.U16, T.U32, T.U64, T.F32, T.F64, T.Chr, T.Str):
        encoder.encode(tp())
    encoder.encode(T.Record([T.NamedType("a", T.List(T.Str()))]))
    encoder.encode(T.Variant([T.Case("a", T.Option(T.U8()))]))
    encoder.encode(T.Tuple([T.Enum(["a"]), T.Flags(["b"]), T.Result(T.U8(), None), T.Handle("Owned")]))
    msgspec.convert({"exports": []}, T.TemplateMetadata)
    msgspec.to_builtins(T.TemplateMetadata([T.ExportedFunction("f", [T.Parameter("p", T.U8())],
                                                               [T.FunctionResult(None, T.U8())])]))
    _done = True
