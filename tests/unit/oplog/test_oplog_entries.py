"""Entry encoding: every kind round-trips; bad bytes are refused with a clear error."""

from __future__ import annotations

import math

import msgspec
import pytest
from _oplog_helpers import ENTRIES, payloads
from hypothesis import given, settings
from hypothesis import strategies as st

import oplog
from oplog import (
    ENTRY_KINDS,
    CorruptEntry,
    OplogError,
    UnknownFormatVersion,
    decode_entry,
    encode_entry,
)


def test_every_kind_has_a_strategy_and_its_class_name_as_tag():
    assert set(ENTRIES) == set(ENTRY_KINDS)
    for tag, cls in ENTRY_KINDS.items():
        assert cls.__name__ == tag
        assert cls.__struct_config__.tag_field == "type"


@pytest.mark.parametrize("kind", sorted(ENTRIES))
def test_each_kind_round_trips(kind):
    @settings(max_examples=25, deadline=None)
    @given(ENTRIES[kind])
    def check(entry):
        data = encode_entry(entry)
        assert data[0] == 1
        back = decode_entry(data)
        assert type(back) is type(entry)
        assert back == entry

    check()


@settings(max_examples=200, deadline=None)
@given(payloads)
def test_payload_values_round_trip_exactly(value):
    entry = oplog.ImportedFunctionInvoked(function="f", response=value, kind="read-local")
    back = decode_entry(encode_entry(entry))
    assert back.response == value
    assert _same_types(back.response, value)


def _same_types(a, b) -> bool:
    # == treats 1 == 1.0 == True; the stored value must keep its exact type.
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return all(_same_types(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return all(_same_types(a[k], b[k]) for k in a)
    if isinstance(a, float):
        return math.copysign(1, a) == math.copysign(1, b)
    return True


def test_tuples_come_back_as_lists():
    entry = oplog.ExportedFunctionCompleted(result=(1, (2, "x")))
    assert decode_entry(encode_entry(entry)).result == [1, [2, "x"]]


def test_defaults_are_omitted_on_disk():
    data = encode_entry(oplog.NoOp())
    assert msgspec.msgpack.decode(data[1:]) == {"type": "NoOp"}


def test_decode_reads_from_a_memoryview():
    entry = oplog.Exited(code=3, timestamp=5)
    assert decode_entry(memoryview(encode_entry(entry))) == entry


@pytest.mark.parametrize("version", [0, 2, 255])
def test_unknown_version_byte_is_named(version):
    data = bytes([version]) + encode_entry(oplog.NoOp())[1:]
    with pytest.raises(UnknownFormatVersion) as info:
        decode_entry(data)
    assert f"version {version}" in str(info.value)
    assert "supports: 1" in str(info.value)
    assert isinstance(info.value, OplogError)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x01",
        b"\x01\xc1",  # a byte msgpack never uses
        b"\x01\x81\xa4type\xa7Unknown",  # a tag no kind has
        b"\x01\x81\xa4type\xa6Create",  # required fields missing
        encode_entry(oplog.Jump(start=1, end=2))[:-1],  # torn
        b"\x01" + msgspec.msgpack.encode([1, 2, 3]),
    ],
)
def test_garbage_is_a_corrupt_entry(data):
    with pytest.raises(CorruptEntry) as info:
        decode_entry(data)
    assert isinstance(info.value, OplogError)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=40))
def test_random_bytes_never_escape_as_other_errors(data):
    try:
        decode_entry(b"\x01" + data)
    except CorruptEntry:
        pass
