"""What an import created, as the command reports it: how many documents of each DocType and their first
names, and with ``--json`` every name, spooled to temporary files rather than held in memory."""

from __future__ import annotations

import json
import tempfile
from typing import IO, TextIO

#: The text report lists at most this many names per DocType (``--json`` lists them all).
NAMES_SHOWN = 10


class CreatedNames:
    """A :class:`~erpnext_medusa.domain.importing.NameSink` that keeps counts and the first names per DocType,
    and with ``spool`` every name in a temporary file per DocType (one JSON string a line)."""

    def __init__(self, *, spool: bool = False) -> None:
        self.spool = spool
        self.counts: dict[str, int] = {}
        self.first: dict[str, list[str]] = {}
        self._files: dict[str, IO[str]] = {}

    def start(self) -> None:
        self.close()
        self.counts, self.first = {}, {}

    def created(self, doctype: str, name: str) -> None:
        count = self.counts.get(doctype, 0)
        self.counts[doctype] = count + 1
        if count < NAMES_SHOWN:
            self.first.setdefault(doctype, []).append(name)
        if self.spool:
            if doctype not in self._files:
                self._files[doctype] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 (closed by close())
            self._files[doctype].write(json.dumps(name, ensure_ascii=False) + "\n")

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def lines(self) -> list[str]:
        """For a person: how many of each DocType, then their first names."""
        lines = ["imported " + ", ".join(f"{count:,} {doctype}" for doctype, count in self.counts.items())]
        for doctype, count in self.counts.items():
            line = f"  {doctype}: " + ", ".join(self.first[doctype])
            if count > NAMES_SHOWN:
                line += f" and {count - NAMES_SHOWN:,} more"
            lines.append(line)
        return lines

    def write_json(self, out: TextIO, file: str) -> None:
        """One JSON object, ``{"file": ..., "created": {doctype: [every name]}}``, written as it is read back
        from the spool (the same text ``json.dumps`` gives)."""
        out.write('{"file": ' + json.dumps(file, ensure_ascii=False) + ', "created": {')
        for i, doctype in enumerate(self.counts):
            out.write((", " if i else "") + json.dumps(doctype) + ": [")
            spooled = self._files[doctype]
            spooled.seek(0)
            for j, line in enumerate(spooled):
                out.write((", " if j else "") + line.rstrip("\n"))
            out.write("]")
        out.write("}}\n")

    def close(self) -> None:
        for spooled in self._files.values():
            spooled.close()
        self._files = {}
