"""What DuckDB's JSON reader does not show, looked for in the file's bytes.

DuckDB reads JSON leniently in two ways the contract is not: it accepts a comma right before a
closing } (which is not JSON), and it reads every number as a double, so 2.5000000000000001
arrives as 2.5 and a value with more than 2 decimals passes as one with 2. Both leave traces in
the text itself, and one pass over the raw bytes says whether a file has any; only a file that
has them is checked exactly, by the syntax locator or by reading the numbers as written.

The pass runs RE2 through pyarrow, which releases the GIL, beside DuckDB's single-threaded read
of the same file, so on a machine with a second core it costs little time.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

_CHUNK = 1 << 18  # small enough to stay in cache: RE2 runs several times faster than on 16 MiB
_WHITESPACE = b" \t\r\n"
_TRAILING_COMMA = r",[ \t\r\n]*[}\]]"
# A double keeps 15 significant digits. An accepted amount has at most 8 digits before the
# point and a quantity at most 9, so a literal a double cannot hold exactly, yet small enough
# to pass, has at least 7 digits after the point.
_LONG_FRACTION = r"\.[0-9]{7}"
_LONGEST_MATCH_WITHOUT_WHITESPACE = 8


@dataclass(frozen=True)
class TextTraces:
    # A comma right before a } or ] somewhere, perhaps inside a text value.
    trailing_comma: bool = False
    # A run of 7 or more digits after a point somewhere: perhaps a number a double rounds.
    long_fraction: bool = False


def _as_array(chunk: bytes) -> pa.Array:
    """The chunk as a one-value Arrow array, without copying it."""
    offsets = pa.py_buffer(struct.pack("<qq", 0, len(chunk)))
    return pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(chunk)])


def _found(chunk: pa.Array, pattern: str) -> bool:
    return bool(pc.match_substring_regex(chunk, pattern)[0].as_py())


def _end_of_solid(text: bytes) -> int:
    """Where the blanks the text ends in begin (its length when it ends in none)."""
    end = len(text)
    while end and text[end - 1] in _WHITESPACE:
        end -= 1
    return end


def find_traces(path: Path) -> TextTraces:
    trailing_comma = long_fraction = False
    carried = b""
    with open(path, "rb") as handle:
        while not (trailing_comma and long_fraction):
            chunk = handle.read(_CHUNK)
            if not chunk:
                break
            text = carried + chunk
            scanned = _as_array(text)
            trailing_comma = trailing_comma or _found(scanned, _TRAILING_COMMA)
            long_fraction = long_fraction or _found(scanned, _LONG_FRACTION)
            # Where a match that goes on in the next chunk can have begun: in the last few bytes,
            # or, when the chunk ends in blanks, at the last byte before them.
            solid = _end_of_solid(text)
            carried = text[solid - 1 : solid] + b" " if solid < len(text) else text[-_LONGEST_MATCH_WITHOUT_WHITESPACE:]
    return TextTraces(trailing_comma, long_fraction)
