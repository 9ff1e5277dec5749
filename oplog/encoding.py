"""The stored-value format shared by log entries and index rows.

Every value is one format-version byte followed by msgpack. The version byte
lets a future layout be introduced without guessing what old bytes mean: a
reader that meets a version it does not know refuses instead of misreading.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .errors import CorruptEntry, UnknownFormatVersion

FORMAT_VERSION = 1
SUPPORTED_VERSIONS = (1,)
VERSION_PREFIX = bytes([FORMAT_VERSION])

# Built once: msgspec encoders/decoders cache type information (perf-tips).
ENCODER = msgspec.msgpack.Encoder()


def encode_value(value: Any) -> bytes:
    """Encode any msgspec-encodable value with the version prefix."""
    return VERSION_PREFIX + ENCODER.encode(value)


def recordable(value: Any) -> bool:
    """Whether an oplog entry can hold `value` (msgpack has no integer past 64 bits): the
    check for values taken from outside, before an entry that holds them is written."""
    try:
        ENCODER.encode(value)
    except OverflowError:
        return False
    return True


def check_version(data: bytes | memoryview) -> None:
    """Raise unless `data` starts with a supported format-version byte."""
    if not data:
        raise CorruptEntry("empty value: no format-version byte")
    version = data[0]
    if version not in SUPPORTED_VERSIONS:
        supported = ", ".join(str(v) for v in SUPPORTED_VERSIONS)
        raise UnknownFormatVersion(
            f"unknown oplog format version {version} (this build supports: {supported})"
        )


def decode_value(decoder: msgspec.msgpack.Decoder, data: bytes | memoryview, what: str) -> Any:
    """Decode a versioned value with `decoder`; `what` names it in error messages."""
    check_version(data)
    try:
        return decoder.decode(memoryview(data)[1:])
    except msgspec.DecodeError as exc:
        err = CorruptEntry(f"cannot decode {what}: {exc}")
        err.__cause__ = exc  # by hand: compiled, `raise ... from` drops the cause
        raise err
