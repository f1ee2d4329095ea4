"""Load Frappe-style documents (Customer, Lead, Address, Country), all or nothing.

Each document is checked (known fields, types, required fields, Select options, lengths, e-mail format,
Link targets) and named as ERPNext names it when it has no ``name``. A file is one transaction: the first
bad document stops the import, the error names its position, name and field, and nothing is written.
Link targets may appear later in the same file; they are checked once every document is in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from erpnext_medusa.domain import naming
from erpnext_medusa.domain.doctypes import FIELDS, LINKABLE, NAME_LENGTH, STANDARD_KEYS, Field
from erpnext_medusa.domain.errors import InvalidDocumentError, ValidationFailedError
from erpnext_medusa.domain.leads import LEAD_NAME_REQUIRED, lead_titles
from erpnext_medusa.domain.models import Link, Stamp
from erpnext_medusa.domain.ports import Store, Transaction
from erpnext_medusa.domain.text import is_email, storable

_TRUE = {1, "1", "true", "True"}
_FALSE = {0, "0", "false", "False", None, ""}
#: Named documents are checked and inserted this many at a time.
_BATCH = 1000


@dataclass(frozen=True)
class _PendingLink:
    position: int
    name: str
    field: str
    target: str
    value: str


def _clean_value(field: Field, value: Any, limit: int) -> Any:
    """The value to store, or raise ValueError with the problem."""
    if field.kind == "check":
        if value in _TRUE:
            return 1
        if value in _FALSE:
            return 0
        raise ValueError("must be 0 or 1")
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError("must be text")
    try:
        storable("value", value)
    except ValidationFailedError:
        raise ValueError("contains a character that is not allowed (NUL or a lone surrogate)") from None
    value = value.strip()
    if value == "":
        return None
    if field.kind == "select" and value not in field.options:
        raise ValueError(f"must be one of {', '.join(field.options)}")
    if field.kind == "email" and not is_email(value):
        raise ValueError(f"{value!r} is not a valid e-mail address")
    if field.kind != "text" and len(value) > limit:
        raise ValueError(f"is longer than {limit} characters")
    return value


def _clean_document(
    position: int, doc: Mapping[str, Any], spec: Sequence[Field], lengths: Mapping[str, int]
) -> dict[str, Any]:
    name = doc.get("name") if isinstance(doc.get("name"), str) else None
    known = {f.name: f for f in spec}
    for key in doc:
        if key not in known and key not in STANDARD_KEYS and key != "links":
            raise InvalidDocumentError(position, name, key, "is not a field of this DocType")
    row: dict[str, Any] = {}
    for field in spec:
        raw = doc.get(field.name)
        value: Any
        if raw is None:  # absent: a Check is 0, anything else its default
            value = 0 if field.kind == "check" else None
        else:
            limit = min(field.length, lengths.get(field.name, field.length))
            try:
                value = _clean_value(field, raw, limit)
            except ValueError as exc:
                raise InvalidDocumentError(position, name, field.name, str(exc)) from None
        if value is None:
            value = field.default
        if value is None and field.required:
            raise InvalidDocumentError(position, name, field.name, "is required")
        if value is not None:
            row[field.name] = value
    if name is not None:
        try:
            row["name"] = _clean_value(Field("name"), name, NAME_LENGTH)
        except ValueError as exc:
            raise InvalidDocumentError(position, name, "name", str(exc)) from None
    return row


def _lead_fields(row: dict[str, Any], position: int) -> None:
    """ERPNext's Lead.validate: the full name and the title."""
    titles = lead_titles(row)
    if titles is None:
        raise InvalidDocumentError(position, row.get("name"), "first_name", LEAD_NAME_REQUIRED)
    row["lead_name"] = titles[0]
    row.setdefault("title", titles[1])


def _address_links(position: int, name: str | None, raw: Any) -> list[Link]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidDocumentError(position, name, "links", "must be a list of link rows")
    links: list[Link] = []
    for i, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise InvalidDocumentError(position, name, f"links[{i}]", "must be an object")
        doctype, target = item.get("link_doctype"), item.get("link_name")
        if doctype not in ("Customer", "Lead"):
            raise InvalidDocumentError(position, name, f"links[{i}].link_doctype", "must be Customer or Lead")
        if not isinstance(target, str) or not target.strip():
            raise InvalidDocumentError(position, name, f"links[{i}].link_name", "is required")
        link = Link(doctype, target.strip())
        if link not in links:  # ERPNext de-duplicates link rows
            links.append(link)
    return links


class _Importer:
    def __init__(self, tx: Transaction, store: Store, stamp: Stamp) -> None:
        self.tx = tx
        self.stamp = stamp
        self.lengths = {doctype: store.column_lengths(doctype) for doctype in FIELDS}
        self.pending: list[_PendingLink] = []
        #: The names inserted, per DocType, and where each DocType first appears in the file.
        self.created: dict[str, list[str]] = {}
        self.first_position: dict[str, int] = {}
        self.batch: list[tuple[int, str, dict[str, Any]]] = []

    def add(self, position: int, doc: Any) -> None:
        try:
            doctype, row, links = self._clean(position, doc)
        except InvalidDocumentError:
            self.flush()  # a document before this one may be bad too, and its error comes first
            raise
        if doctype != "Address" and row.get("name"):
            # Named and on its own: checked and inserted together with its neighbours.
            self.batch.append((position, doctype, row))
            if len(self.batch) >= _BATCH:
                self.flush()
            return
        self.flush()
        self._insert(position, doctype, row, links)

    def _clean(self, position: int, doc: Any) -> tuple[str, dict[str, Any], list[Link]]:
        if not isinstance(doc, dict):
            raise InvalidDocumentError(position, None, None, "is not a JSON object")
        doctype = doc.get("doctype")
        if doctype not in FIELDS:
            raise InvalidDocumentError(
                position,
                doc.get("name") if isinstance(doc.get("name"), str) else None,
                "doctype",
                f"must be one of {', '.join(FIELDS)}",
            )
        row = _clean_document(position, doc, FIELDS[doctype], self.lengths[doctype])
        links: list[Link] = []
        if doctype == "Address":
            links = [
                Link(link.link_doctype, link.link_name, self.tx.title_of(link.link_doctype, link.link_name))
                for link in _address_links(position, row.get("name"), doc.get("links"))
            ]
        elif "links" in doc:
            raise InvalidDocumentError(position, row.get("name"), "links", "is not a field of this DocType")
        if doctype == "Lead":
            _lead_fields(row, position)
        return doctype, row, links

    def flush(self) -> None:
        """Insert the batched documents: a few statements for the lot, or, when one of them collides with
        a stored document, one by one so that the error names the first culprit."""
        batch, self.batch = self.batch, []
        by_doctype: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for position, doctype, row in batch:
            by_doctype.setdefault(doctype, []).append((position, row))
        for doctype, items in by_doctype.items():
            if self.tx.insert_batch(doctype, [row for _, row in items], self.stamp):
                for position, row in items:
                    self._note(position, doctype, row)
                continue
            for position, row in items:
                self._insert(position, doctype, row, [])

    def _insert(self, position: int, doctype: str, row: dict[str, Any], links: list[Link]) -> None:
        name = self._name(doctype, row, links, position)
        row["name"] = name
        if self.tx.stored_names(doctype, [name]):
            raise InvalidDocumentError(position, name, "name", f"is already used by another {doctype}")
        if doctype == "Customer" and row.get("medusa_id"):
            holder = self.tx.customer_with_medusa_id(row["medusa_id"])
            if holder is not None:
                raise InvalidDocumentError(position, name, "medusa_id", f"is already on Customer {holder}")
        self.tx.insert_document(doctype, row, self.stamp)
        if links:
            self.tx.insert_links("Address", name, links, self.stamp)
            for flag in ("is_primary_address", "is_shipping_address"):
                if row.get(flag) and not row.get("disabled"):
                    for link in links:
                        self.tx.clear_preferred_flag(flag, link, name, self.stamp)
        self._note(position, doctype, row)
        for i, link in enumerate(links, start=1):
            self.pending.append(
                _PendingLink(position, name, f"links[{i}].link_name", link.link_doctype, link.link_name)
            )

    def _note(self, position: int, doctype: str, row: dict[str, Any]) -> None:
        """Record an inserted document's name and remember its Link values for :meth:`check_links`."""
        for field in FIELDS[doctype]:
            if field.kind == "link" and row.get(field.name):
                self.pending.append(_PendingLink(position, row["name"], field.name, str(field.target), row[field.name]))
        # Batches insert each DocType in file order, so a DocType's first note is its first document.
        self.first_position.setdefault(doctype, position)
        self.created.setdefault(doctype, []).append(row["name"])

    def created_names(self) -> dict[str, list[str]]:
        """The names inserted per DocType, the DocTypes in the order they first appear in the file."""
        return {doctype: self.created[doctype] for doctype in sorted(self.created, key=self.first_position.__getitem__)}

    def _name(self, doctype: str, row: dict[str, Any], links: list[Link], position: int) -> str:
        if row.get("name"):
            return str(row["name"])
        if doctype == "Customer":
            return naming.customer_name(self.tx, row["customer_name"])
        if doctype == "Lead":
            return naming.lead_name(self.tx, self.stamp.at)
        if doctype == "Country":
            return str(row["country_name"])
        # ERPNext's rule: the first link's title (a Customer's customer_name), else its name.
        title = row.get("address_title") or (links[0].link_title or links[0].link_name if links else None)
        if not title:
            raise InvalidDocumentError(position, None, "address_title", "Address Title is mandatory")
        row["address_title"] = title
        return naming.address_name(self.tx, title, row["address_type"])

    def check_links(self) -> None:
        """Every Link value must name a document that exists once the whole file is in, spelt as stored
        (so that the file means the same on every backend, whatever its collation)."""
        by_target: dict[str, set[str]] = {}
        for item in self.pending:
            by_target.setdefault(item.target, set()).add(item.value)
        stored = {target: self.tx.stored_names(target, values) for target, values in by_target.items()
                  if target in LINKABLE}  # fmt: skip
        for item in self.pending:
            if item.target not in stored:
                continue
            spelling = stored[item.target].get(item.value)
            if spelling is None:
                problem = f"{item.target} {item.value} does not exist"
            elif spelling != item.value:
                problem = f"{item.target} {item.value} does not exist (did you mean {spelling}?)"
            else:
                continue
            raise InvalidDocumentError(item.position, item.name, item.field, problem)


def import_documents(
    store: Store,
    documents: Iterable[Any],
    stamp: Stamp,
    progress: Callable[[int], None] | None = None,  # called with the number of documents done
) -> dict[str, list[str]]:
    """Insert the documents in one transaction; returns the names given to them per DocType, in file order."""
    docs = list(documents)

    def work(tx: Transaction) -> dict[str, list[str]]:
        importer = _Importer(tx, store, stamp)
        for position, doc in enumerate(docs, start=1):
            importer.add(position, doc)
            if progress is not None:
                progress(position)  # documents done so far (a retried transaction starts again)
        importer.flush()
        importer.check_links()
        return importer.created_names()

    return store.write(work)
