"""Reading an import file: a JSON array of documents, or JSON lines (one document per line).

Errors never name the file (the caller does, once); a document is counted from 1.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from erpnext_medusa.domain.errors import InvalidDocumentError

_JSON_SPACE = re.compile(r"[ \t\n\r]*")


class DocumentsFileError(ValueError):
    """The file as a whole cannot be read as documents (not UTF-8, no documents at all)."""


def read_documents(path: Path) -> list[Any]:
    """The documents in the file, in order. A document that is not valid JSON raises
    :class:`InvalidDocumentError` with its position; an unreadable or empty file :class:`DocumentsFileError`."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentsFileError(f"not UTF-8 text (byte {exc.start + 1} cannot be read)") from None
    except OSError as exc:
        raise DocumentsFileError(exc.strerror or str(exc)) from None
    docs = _read_array(text) if text.lstrip().startswith("[") else _read_lines(text)
    if not docs:
        raise DocumentsFileError("the file holds no documents")
    return docs


def _read_array(text: str) -> list[Any]:
    try:
        return list(json.loads(text))
    except json.JSONDecodeError as exc:
        position = _documents_before(text, exc.pos) + 1
        problem = f"not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})"
        if exc.pos >= len(text.rstrip()):
            problem += "; the file ends before the array is closed"
        raise InvalidDocumentError(position, None, None, problem) from None


def _documents_before(text: str, stop: int) -> int:
    """How many documents of the JSON array in ``text`` are complete before the offset ``stop``."""
    decoder = json.JSONDecoder()
    count, index = 0, text.index("[") + 1
    while True:
        index = _skip_space(text, index)
        try:
            _, index = decoder.raw_decode(text, index)
        except json.JSONDecodeError:
            return count
        if index > stop:
            return count
        count += 1
        index = _skip_space(text, index)
        if not text.startswith(",", index):
            return count
        index += 1


def _skip_space(text: str, index: int) -> int:
    match = _JSON_SPACE.match(text, index)
    return match.end() if match else index


def _read_lines(text: str) -> list[Any]:
    docs = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            docs.append(json.loads(line))
        except json.JSONDecodeError as exc:
            problem = f"not valid JSON (line {lineno}: {exc.msg})"
            raise InvalidDocumentError(len(docs) + 1, None, None, problem) from None
    return docs
