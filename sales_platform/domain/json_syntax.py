"""Point at the first thing that makes an upload unreadable as JSON: invalid UTF-8 or a syntax
error, by line and column, so a person can open the file and go there.

Only refused files come here, and they can be as large as good ones, so the file is read in
chunks and one record at a time rather than whole.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Literal

from sales_platform.domain.upload_contract import Problem

_CHUNK = 1 << 20
# A record is at most 1 MiB; an error further than that from the end of what is buffered is
# not caused by the buffer ending.
_LOOKAHEAD = 2 << 20

_decoder = json.JSONDecoder()

CUT_OFF_RECORD = "the file ends in the middle of this record: it looks cut off; upload it again"


class _Text:
    """Decoded text read on demand, with the line and column of every position."""

    def __init__(self, path: Path) -> None:
        self._handle = open(path, "rb")
        self._utf8 = codecs.getincrementaldecoder("utf-8")("strict")
        self.buffer = ""
        self.eof = False
        self._dropped_lines = 0  # newlines in text already dropped from the buffer
        self._dropped_column = 0  # characters after the last dropped newline
        self._bytes_read = 0

    def close(self) -> None:
        self._handle.close()

    def more(self) -> None:
        chunk = self._handle.read(_CHUNK)
        final = not chunk
        try:
            self.buffer += self._utf8.decode(chunk, final=final)
        except UnicodeDecodeError as error:
            raise _BadEncoding(self._bytes_read + error.start, error.object[error.start : error.start + 1]) from None
        finally:
            self._bytes_read += len(chunk)
        self.eof = final

    def drop(self, upto: int) -> None:
        """Forget text before `upto`, remembering where it ended."""
        dropped = self.buffer[:upto]
        newlines = dropped.count("\n")
        if newlines:
            self._dropped_lines += newlines
            self._dropped_column = len(dropped) - dropped.rfind("\n") - 1
        else:
            self._dropped_column += len(dropped)
        self.buffer = self.buffer[upto:]

    def where(self, position: int) -> tuple[int, int]:
        before = self.buffer[:position]
        newlines = before.count("\n")
        if newlines:
            return self._dropped_lines + newlines + 1, position - before.rfind("\n")
        return self._dropped_lines + 1, self._dropped_column + position + 1


class _BadEncoding(Exception):
    def __init__(self, offset: int, byte: bytes) -> None:
        self.offset, self.byte = offset, byte


def _skip_space(text: _Text, position: int) -> int:
    while True:
        while position < len(text.buffer) and text.buffer[position] in " \t\r\n\ufeff":
            position += 1
        if position < len(text.buffer) or text.eof:
            return position
        text.more()


def _syntax(text: _Text, position: int, message: str) -> Problem:
    line, column = text.where(position)
    return Problem(f"the file is not valid JSON: {message}", line=line, column=column)


def _trailing_comma(buffer: str, position: int) -> int | None:
    """Where the comma is when the error at `position` is a closing } or ] right after one:
    JSON has no trailing commas, though many lenient readers (DuckDB's among them) accept them."""
    if position >= len(buffer) or buffer[position] not in "}]":
        return None
    before = len(buffer[:position].rstrip(" \t\r\n"))
    return before - 1 if before and buffer[before - 1] == "," else None


def _decode_error(text: _Text, error: json.JSONDecodeError) -> Problem:
    comma = _trailing_comma(text.buffer, error.pos)
    if comma is not None:
        closing = text.buffer[error.pos]
        return _syntax(text, comma, f"a comma before the closing {closing}: JSON allows none there; remove it")
    return _syntax(text, error.pos, error.msg)


def _scan_array(text: _Text) -> Problem | None:
    position = _skip_space(text, 0)
    if position >= len(text.buffer) or text.buffer[position] != "[":
        return _syntax(text, position, "expected [ to open the array of records")
    position += 1
    expect_value, after_comma = True, False
    while True:
        position = _skip_space(text, position)
        if position >= len(text.buffer):
            return _syntax(text, position, "the file ends before the closing ] of the array")
        char = text.buffer[position]
        if not expect_value:
            if char == "]":
                position = _skip_space(text, position + 1)
                if position < len(text.buffer):
                    return _syntax(text, position, "unexpected text after the closing ] of the array")
                return None
            if char != ",":
                return _syntax(text, position, "expected , between records or ] to end the array")
            position += 1
            expect_value, after_comma = True, True
            continue
        if char == "]":
            if after_comma:
                comma = _trailing_comma(text.buffer, position)
                return _syntax(
                    text,
                    position if comma is None else comma,
                    "a comma before the closing ]: JSON allows none there; remove it",
                )
            return None  # an empty array: readable, and refused later for holding no records
        try:
            _, end = _decoder.raw_decode(text.buffer, position)
        except json.JSONDecodeError as error:
            if not text.eof and len(text.buffer) - error.pos < _LOOKAHEAD:
                text.more()
                continue
            if text.eof and "]" not in text.buffer[position:]:
                # The last record breaks off and nothing closes the array: a partial upload.
                return _syntax(text, position, CUT_OFF_RECORD)
            return _decode_error(text, error)
        position = end
        expect_value, after_comma = False, False
        if position > _CHUNK:
            # Dropping what was read after every record would copy the buffer once per record.
            text.drop(position)
            position = 0
        if len(text.buffer) - position < _LOOKAHEAD and not text.eof:
            text.more()


def _scan_lines(path: Path) -> Problem | None:
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                return Problem(
                    f"the file is not valid UTF-8 text: byte {raw[error.start : error.start + 1]!r} cannot be decoded",
                    line=number,
                    column=error.start + 1,
                )
            if not line.strip():
                continue
            line = line.lstrip("\ufeff")
            try:
                json.loads(line)
            except json.JSONDecodeError as error:
                comma = _trailing_comma(line, error.pos)
                if comma is not None:
                    message = f"a comma before the closing {line[error.pos]}: JSON allows none there; remove it"
                    return Problem(f"the line is not valid JSON: {message}", line=number, column=comma + 1)
                if not raw.endswith(b"\n") and not line.rstrip().endswith("}"):
                    # The last line breaks off: a partial upload (one still being written?).
                    return Problem(CUT_OFF_RECORD, line=number)
                return Problem(f"the line is not valid JSON: {error.msg}", line=number, column=error.colno)
    return None


def _locate_encoding_error(path: Path, offset: int, byte: bytes) -> Problem:
    line, column = 1, 1
    with open(path, "rb") as handle:
        remaining = offset
        while remaining > 0:
            chunk = handle.read(min(_CHUNK, remaining))
            if not chunk:
                break
            newlines = chunk.count(b"\n")
            if newlines:
                line += newlines
                column = len(chunk) - chunk.rfind(b"\n")
            else:
                column += len(chunk)
            remaining -= len(chunk)
    return Problem(
        f"the file is not valid UTF-8 text: byte {byte!r} cannot be decoded (save the file as UTF-8)",
        line=line,
        column=column,
    )


def locate_syntax_error(path: Path, layout: Literal["array", "lines"]) -> Problem | None:
    """The first encoding or syntax error, or None when the file reads as valid JSON."""
    if layout == "lines":
        return _scan_lines(path)
    text = _Text(path)
    try:
        text.more()
        return _scan_array(text)
    except _BadEncoding as bad:
        return _locate_encoding_error(path, bad.offset, bad.byte)
    finally:
        text.close()
