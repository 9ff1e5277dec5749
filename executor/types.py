"""WIT types as plain data: read once from wasmtime, stored with a template, served as metadata.

The tree mirrors Golem's `AnalysedType` JSON (`{"type": "Record", "fields": [...]}`) so the
template metadata looks like what Golem clients expect. The codec compiles converters from
it, so no wasmtime type object is consulted on the hot path.
"""

from __future__ import annotations

from typing import Union

import msgspec
from wasmtime import component as cm


class _T(msgspec.Struct, frozen=True, tag_field="type"):
    pass


class Bool(_T, tag="Bool"): ...
class S8(_T, tag="S8"): ...
class S16(_T, tag="S16"): ...
class S32(_T, tag="S32"): ...
class S64(_T, tag="S64"): ...
class U8(_T, tag="U8"): ...
class U16(_T, tag="U16"): ...
class U32(_T, tag="U32"): ...
class U64(_T, tag="U64"): ...
class F32(_T, tag="F32"): ...
class F64(_T, tag="F64"): ...
class Chr(_T, tag="Chr"): ...
class Str(_T, tag="Str"): ...


class NamedType(msgspec.Struct, frozen=True):
    name: str
    typ: "WitType"


class Case(msgspec.Struct, frozen=True):
    name: str
    typ: Union["WitType", None] = None


class List(_T, tag="List"):
    inner: "WitType"


class Tuple(_T, tag="Tuple"):
    items: list["WitType"]


class Record(_T, tag="Record"):
    fields: list[NamedType]


class Variant(_T, tag="Variant"):
    cases: list[Case]


class Enum(_T, tag="Enum"):
    cases: list[str]


class Flags(_T, tag="Flags"):
    names: list[str]


class Option(_T, tag="Option"):
    inner: "WitType"


class Result(_T, tag="Result"):
    ok: Union["WitType", None] = None
    err: Union["WitType", None] = None


class Handle(_T, tag="Handle"):
    mode: str  # "Owned" | "Borrowed"
    # The resource's name in the interface that exports it; None where it is not known
    # (a template stored before names were recorded, a resource the component imports).
    resource: str | None = None


WitType = Union[Bool, S8, S16, S32, S64, U8, U16, U32, U64, F32, F64, Chr, Str,
                List, Tuple, Record, Variant, Enum, Flags, Option, Result, Handle]

INTEGER_RANGES: dict[type, tuple[int, int]] = {
    S8: (-(1 << 7), (1 << 7) - 1), S16: (-(1 << 15), (1 << 15) - 1),
    S32: (-(1 << 31), (1 << 31) - 1), S64: (-(1 << 63), (1 << 63) - 1),
    U8: (0, (1 << 8) - 1), U16: (0, (1 << 16) - 1),
    U32: (0, (1 << 32) - 1), U64: (0, (1 << 64) - 1),
}


class Parameter(msgspec.Struct, frozen=True):
    name: str
    typ: WitType


class FunctionResult(msgspec.Struct, frozen=True):
    name: str | None
    typ: WitType


class Function(msgspec.Struct, frozen=True):
    name: str
    parameters: list[Parameter]
    results: list[FunctionResult]


class ExportedInstance(msgspec.Struct, frozen=True, tag_field="type", tag="Instance"):
    name: str
    functions: list[Function]


class ExportedFunction(msgspec.Struct, frozen=True, tag_field="type", tag="Function"):
    name: str
    parameters: list[Parameter]
    results: list[FunctionResult]


Export = Union[ExportedInstance, ExportedFunction]


class TemplateMetadata(msgspec.Struct, frozen=True):
    exports: list[Export]
    imports: list[str] = []


_PRIMITIVES = {
    cm.Bool: Bool(), cm.S8: S8(), cm.S16: S16(), cm.S32: S32(), cm.S64: S64(),
    cm.U8: U8(), cm.U16: U16(), cm.U32: U32(), cm.U64: U64(),
    cm.F32: F32(), cm.F64: F64(), cm.Char: Chr(), cm.String: Str(),
}


# The resources an interface exports, by name: a handle type names its resource only by
# identity, so its name is found by comparing it with these.
Resources = list[tuple[str, cm.ResourceType]]


def from_wasmtime(t: cm.ValType, resources: Resources | None = None) -> WitType:
    """Convert a wasmtime component value type into our plain description."""
    prim = _PRIMITIVES.get(type(t))
    if prim is not None:
        return prim

    def inner(u: cm.ValType) -> WitType:
        return from_wasmtime(u, resources)

    if isinstance(t, cm.ListType):
        return List(inner(t.element))
    if isinstance(t, cm.TupleType):
        return Tuple([inner(e) for e in t.elements])
    if isinstance(t, cm.RecordType):
        return Record([NamedType(n, inner(ft)) for n, ft in t.fields])
    if isinstance(t, cm.VariantType):
        return Variant([Case(n, None if ct is None else inner(ct)) for n, ct in t.cases])
    if isinstance(t, cm.EnumType):
        return Enum(list(t.names))
    if isinstance(t, cm.FlagsType):
        return Flags(list(t.names))
    if isinstance(t, cm.OptionType):
        return Option(inner(t.payload))
    if isinstance(t, cm.ResultType):
        ok, err = t.ok, t.err
        return Result(None if ok is None else inner(ok), None if err is None else inner(err))
    if isinstance(t, (cm.OwnType, cm.BorrowType)):
        name = next((n for n, r in resources or () if r == t.ty), None)
        return Handle("Owned" if isinstance(t, cm.OwnType) else "Borrowed", name)
    raise TypeError(f"unsupported WIT type {type(t).__name__}")


def _function(fty: cm.FuncType, resources: Resources | None = None) -> tuple[list[Parameter], list[FunctionResult]]:
    params = [Parameter(n, from_wasmtime(t, resources)) for n, t in fty.params]
    result = fty.result
    results = [] if result is None else [FunctionResult(None, from_wasmtime(result, resources))]
    return params, results


def destructor(resource: str) -> Function:
    """`[drop]<resource>`: what dropping an owned handle of an exported resource calls."""
    return Function(f"[drop]{resource}", [Parameter("self", Handle("Owned", resource))], [])


def analyse_component(engine, component: cm.Component) -> TemplateMetadata:
    """Describe every exported function (world-level and per exported interface).

    An interface that exports a resource also lists its destructor, `[drop]<resource>`,
    as Golem's metadata does: calling it drops a handle (SPEC §6).
    """
    ctype = component.type
    exports: list[Export] = []
    for name, ext in ctype.exports(engine).items():
        ty = ext.ty
        if isinstance(ty, cm.FuncType):
            params, results = _function(ty)
            exports.append(ExportedFunction(name, params, results))
        elif isinstance(ty, cm.ComponentInstanceType):
            members = ty.exports(engine)
            resources = [(n, m.ty) for n, m in members.items() if isinstance(m.ty, cm.ResourceType)]
            funcs = []
            for fname, fext in members.items():
                fty = fext.ty
                if isinstance(fty, cm.FuncType):
                    params, results = _function(fty, resources)
                    funcs.append(Function(fname, params, results))
            funcs += [destructor(r) for r, _ in resources]
            exports.append(ExportedInstance(name, funcs))
    imports = sorted(ctype.imports(engine).keys())
    return TemplateMetadata(exports, imports)


# --- the Python classes wasmtime-py uses for each type -----------------------------------
# wasmtime-py lowers a variant-like value without a tag when the Python classes of its
# cases are disjoint ("untagged"); otherwise it expects `Variant(tag, payload)`. We must
# decide exactly as it does, so this mirrors `add_classes` / `_tagged` in wasmtime-py.

def python_classes(t: WitType) -> set[type]:
    if isinstance(t, Bool):
        return {bool}
    if type(t) in INTEGER_RANGES:
        return {int}
    if isinstance(t, (F32, F64)):
        return {float}
    if isinstance(t, (Chr, Str, Enum)):
        return {str}
    if isinstance(t, List):
        return {bytes} if isinstance(t.inner, U8) else {list}
    if isinstance(t, Tuple):
        return {tuple}
    if isinstance(t, Record):
        return {cm.Record}
    if isinstance(t, Flags):
        return {set}
    if isinstance(t, Handle):
        return {cm.ResourceAny, cm.ResourceHost}
    cases = variant_cases(t)
    if is_tagged(cases):
        return {cm.Variant}
    out: set[type] = set()
    for _, ct in cases:
        out |= {object} if ct is None else python_classes(ct)
    return out


def variant_cases(t: WitType) -> list[tuple[str, WitType | None]]:
    if isinstance(t, Variant):
        return [(c.name, c.typ) for c in t.cases]
    if isinstance(t, Option):
        return [("none", None), ("some", t.inner)]
    if isinstance(t, Result):
        return [("ok", t.ok), ("err", t.err)]
    raise TypeError(f"{type(t).__name__} is not variant-like")


def is_tagged(cases: list[tuple[str, WitType | None]]) -> bool:
    seen: set[type] = set()
    for _, ct in cases:
        case = {object} if ct is None else python_classes(ct)
        if case & seen:
            return True
        seen |= case
    return False
