"""Reading an import file as a stream: a JSON array of documents, or JSON lines (one document per line).

The file is never held whole: JSON lines are read line by line, and an array is parsed one element at a
time (``json.JSONDecoder.raw_decode`` over a window of the file that is refilled as it is consumed), so
memory stays bounded by the largest document, whatever the file's size.

Errors never name the file (the caller does, once); a document is counted from 1.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from erpnext_medusa.domain.errors import InvalidDocumentError

_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_SPACE = b" \t\n\r"
#: Bytes read from the file at a time when parsing an array.
_CHUNK = 1 << 20
#: A parse error this close to the end of the window may only mean that the window ends inside a value
#: (``tr`` of ``true``, ``-`` of a number): the window is refilled and the value parsed again.
_NEAR_END = 16


class DocumentsFileError(ValueError):
    """The file as a whole cannot be read as documents (not UTF-8, no documents at all)."""


class DocumentsFile:
    """The documents of one file, in order, read as they are needed. Iterating again starts again from the
    file's beginning (so a retried transaction sees every document again). A document that is not valid JSON
    raises :class:`InvalidDocumentError` with its position; an unreadable or empty file
    :class:`DocumentsFileError`. ``bytes_read`` tells how far the current pass has read, of ``size``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.size = path.stat().st_size
        except OSError as exc:
            raise DocumentsFileError(exc.strerror or str(exc)) from None
        self.bytes_read = 0

    def __iter__(self) -> Iterator[Any]:
        self.bytes_read = 0
        try:
            stream = self.path.open("rb")
        except OSError as exc:
            raise DocumentsFileError(exc.strerror or str(exc)) from None
        with stream:
            found = False
            for doc in self._documents(stream):
                found = True
                yield doc
        if not found:
            raise DocumentsFileError("the file holds no documents")

    def _documents(self, stream: BinaryIO) -> Iterator[Any]:
        start = len(codecs.BOM_UTF8) if stream.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8 else 0
        stream.seek(start)
        head = b""
        while not head.lstrip(_SPACE):  # up to the first character that is not white space
            more = stream.read(4096)
            if not more:
                break
            head += more
        stream.seek(start)
        if head.lstrip(_SPACE).startswith(b"["):
            return _ArrayReader(self, stream, start).documents()
        return self._lines(stream, start)

    def _lines(self, stream: BinaryIO, offset: int) -> Iterator[Any]:
        position = 0
        decoder = json.JSONDecoder()
        for lineno, raw in enumerate(stream, start=1):
            line_start, offset = offset, offset + len(raw)
            self.bytes_read = offset
            text = _decode(raw, line_start)
            if not text.strip():
                continue
            try:
                doc = decoder.decode(text)
            except json.JSONDecodeError as exc:
                problem = f"not valid JSON (line {lineno}: {exc.msg})"
                raise InvalidDocumentError(position + 1, None, None, problem) from None
            position += 1
            yield doc


def read_documents(path: Path) -> list[Any]:
    """Every document of the file, in a list (for small files; an import streams :class:`DocumentsFile`)."""
    return list(DocumentsFile(path))


def _decode(raw: bytes, offset: int) -> str:
    """One line as text; a byte that is not UTF-8 is named by its offset in the file, counted from 1."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentsFileError(f"not UTF-8 text (byte {offset + exc.start + 1} cannot be read)") from None


class _ArrayReader:
    """The elements of a JSON array, parsed one at a time over a window of the file."""

    def __init__(self, owner: DocumentsFile, stream: BinaryIO, offset: int) -> None:
        self.owner = owner
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.bytes_in = offset  # bytes given to the decoder so far
        self.text = ""
        self.eof = False
        #: What was cut from the window's front: its lines, and the characters after its last line break.
        self.lines_before = 0
        self.column_carry = 0

    def _feed(self, data: bytes) -> None:
        final = not data
        try:
            self.text += self.decoder.decode(data, final=final)
        except UnicodeDecodeError as exc:
            buffered = len(self.decoder.getstate()[0])
            byte = self.bytes_in - buffered + exc.start + 1
            raise DocumentsFileError(f"not UTF-8 text (byte {byte} cannot be read)") from None
        self.bytes_in += len(data)
        self.eof = final

    def _more(self) -> bool:
        """Read more of the file into the window; False at its end."""
        if self.eof:
            return False
        data = self.stream.read(_CHUNK)
        self._feed(data)
        self.owner.bytes_read = self.bytes_in
        return bool(data)

    def _cut(self, index: int) -> None:
        """Drop the window's first ``index`` characters (already parsed)."""
        dropped = self.text[:index]
        breaks = dropped.count("\n")
        if breaks:
            self.lines_before += breaks
            self.column_carry = len(dropped) - dropped.rfind("\n") - 1
        else:
            self.column_carry += len(dropped)
        self.text = self.text[index:]

    def _skip_space(self, index: int) -> int:
        """The index of the next character that is not white space, reading more as needed (the window's
        end when the file ends first)."""
        while True:
            match = _JSON_SPACE.match(self.text, index)
            index = match.end() if match else index
            if index < len(self.text) or not self._more():
                return index

    def _error(self, position: int, index: int, message: str) -> InvalidDocumentError:
        line_start = self.text.rfind("\n", 0, index)
        line = self.lines_before + self.text.count("\n", 0, index) + 1
        column = index - line_start if line_start >= 0 else self.column_carry + index + 1
        problem = f"not valid JSON (line {line} column {column}: {message})"
        if self._skip_space(index) >= len(self.text):
            problem += "; the file ends before the array is closed"
        return InvalidDocumentError(position, None, None, problem)

    def _value(self, index: int, position: int) -> tuple[Any, int]:
        """The JSON value that starts at ``index``, and the index after it."""
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, index)
            except json.JSONDecodeError as exc:
                truncated = exc.pos >= len(self.text) - _NEAR_END or exc.msg.startswith("Unterminated string")
                if truncated and self._more():
                    continue
                raise self._error(position, exc.pos, exc.msg) from None
            if end < len(self.text) or not self._more():  # a number at the window's end may go on
                return value, end

    def documents(self) -> Iterator[Any]:
        index = self._skip_space(0) + 1  # after '['
        position = 1
        index = self._skip_space(index)
        if self.text.startswith("]", index):
            self._check_end(index + 1, position)
            return
        while True:
            if index > _CHUNK:  # keep the window small: drop what is parsed
                self._cut(index)
                index = 0
            if index >= len(self.text):
                raise self._error(position, index, "Expecting value")
            doc, index = self._value(index, position)
            yield doc
            position += 1
            index = self._skip_space(index)
            if self.text.startswith("]", index):
                self._check_end(index + 1, position)
                return
            if not self.text.startswith(",", index):
                raise self._error(position, index, "Expecting ',' delimiter")
            index = self._skip_space(index + 1)

    def _check_end(self, index: int, position: int) -> None:
        """After the closing bracket only white space may follow."""
        index = self._skip_space(index)
        if index < len(self.text):
            raise self._error(position, index, "Extra data")


_DECODER = json.JSONDecoder()
