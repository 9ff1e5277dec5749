"""Run rows: several consecutive entries of one log stored under one key.

When the recent table moves into the logs' ranges (see recent.py), each log's
entries go in as one row, so the move costs one put per log. A run row is
keyed like an entry row, by the index of its last entry, so a range read from
index i that seeks to the first key >= i lands on the row holding i.

Value: RUN_TAG, then msgpack [first index, [stored entry, ...]]. RUN_TAG is
not a format version, so a reader that does not know runs refuses the row
instead of misreading it.
"""

from __future__ import annotations

import msgspec

from .batch import INDEX_WIDTH
from .errors import CorruptEntry

RUN_TAG = 0xFE
_TAG = bytes([RUN_TAG])
_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(tuple[int, list[bytes]])


def encode_run(prefix_len: int, values: list[bytes]) -> list[tuple[bytes, bytes]]:
    """Log rows for one log's recent-table values (log key + stored entry) sorted by index.

    One row per stretch of consecutive indexes; `prefix_len` is the length of
    the log's key prefix.
    """
    if not values:
        return []
    cut = prefix_len + INDEX_WIDTH
    first = int.from_bytes(values[0][prefix_len:cut], "big")
    if int.from_bytes(values[-1][prefix_len:cut], "big") - first + 1 == len(values):
        stretches = [(first, values)]  # the usual case: a log's appends have no gaps
    else:
        stretches = []
        for v in values:
            index = int.from_bytes(v[prefix_len:cut], "big")
            if stretches and stretches[-1][0] + len(stretches[-1][1]) == index:
                stretches[-1][1].append(v)
            else:
                stretches.append((index, [v]))
    rows = []
    for first, stretch in stretches:
        last = stretch[-1]
        if len(stretch) == 1:
            rows.append((last[:cut], last[cut:]))
        else:
            rows.append((last[:cut], _TAG + _ENCODER.encode((first, [v[cut:] for v in stretch]))))
    return rows


def expand(key: bytes, value: bytes) -> list[tuple[int, bytes]]:
    """(index, stored entry) pairs of a log row, a run or a single entry."""
    if not value or value[0] != RUN_TAG:
        return [(int.from_bytes(key[-INDEX_WIDTH:], "big"), value)]
    try:
        first, entries = _DECODER.decode(memoryview(value)[1:])
    except msgspec.DecodeError as exc:
        raise CorruptEntry(f"cannot decode a run of oplog entries: {exc}") from exc
    if first + len(entries) - 1 != int.from_bytes(key[-INDEX_WIDTH:], "big"):
        raise CorruptEntry(f"a run of oplog entries from {first} does not end at its key")
    return list(enumerate(entries, first))
