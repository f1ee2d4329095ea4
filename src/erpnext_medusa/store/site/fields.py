"""The site's own names for the fields the service knows by another name.

Frappe v15 names a field added in Customize Form ``custom_<label>`` (``custom_medusa_id``), while the replaced
app's fixtures and ``erpnext setup`` name it ``medusa_id``. The service speaks of ``medusa_id`` everywhere; the
REST client renames it on the way out (document bodies, ``fields``, filters) and back (documents and rows), so
no other code needs to know which name a site uses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class FieldNames:
    def __init__(self, site_names: Mapping[str, str]) -> None:
        """``site_names``: the service's name -> the site's name, for the fields that differ."""
        self._out = {ours: theirs for ours, theirs in site_names.items() if ours != theirs}
        self._in = {theirs: ours for ours, theirs in self._out.items()}

    def __bool__(self) -> bool:
        return bool(self._out)

    def doc_out(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        return {self._out.get(k, k): v for k, v in doc.items()}

    def doc_in(self, doc: Any) -> Any:
        if isinstance(doc, dict):
            return {self._in.get(k, k): v for k, v in doc.items()}
        return [self.doc_in(row) for row in doc] if isinstance(doc, list) else doc

    def fields_out(self, fields: list[str]) -> list[str]:
        return [self._out.get(f, f) for f in fields]

    def filters_out(self, filters: Any) -> Any:
        """Frappe's dict form (``{field: value}``) and list form (``[field, op, value]`` or
        ``[doctype, field, op, value]``)."""
        if isinstance(filters, dict):
            return self.doc_out(filters)
        if isinstance(filters, list):
            renamed = []
            for item in filters:
                if isinstance(item, list) and len(item) in (3, 4):
                    at = len(item) - 3
                    item = [*item[:at], self._out.get(item[at], item[at]), *item[at + 1 :]]
                renamed.append(item)
            return renamed
        return filters
