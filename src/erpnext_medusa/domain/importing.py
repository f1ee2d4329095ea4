"""Load Frappe-style documents (Customer, Lead, Address, Country), all or nothing.

Each document is checked (known fields, types, required fields, Select options, lengths, e-mail format,
Link targets) and named as ERPNext names it when it has no ``name``. A file is one transaction: the first
bad document stops the import, the error names its position, name and field, and nothing is written.
Link targets may appear later in the same file; they are checked once every document is in (those that
already resolve are settled along the way, so that only forward references are kept until the end).

Documents may come from a stream: the importer keeps none of them, only the batch it is about to insert, and
tells a :class:`NameSink` each name it gives instead of keeping them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from erpnext_medusa.domain import naming
from erpnext_medusa.domain.doctypes import FIELDS, LINKABLE, NAME_LENGTH, STANDARD_KEYS, Field
from erpnext_medusa.domain.errors import InvalidDocumentError, ValidationFailedError
from erpnext_medusa.domain.leads import LEAD_NAME_REQUIRED, lead_titles
from erpnext_medusa.domain.models import Link, Stamp
from erpnext_medusa.domain.ports import Store, Transaction
from erpnext_medusa.domain.text import is_email, storable

_TRUE = {1, "1", "true", "True"}
_FALSE = {0, "0", "false", "False", None, ""}
#: What an unknown country value should have been.
COUNTRY_HINT = 'use an ERPNext country name such as "United Arab Emirates" or its ISO code "AE"'
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


class NameSink(Protocol):
    """Where an import reports the names it gives, in file order within each DocType. Each DocType's first
    name comes in the order the DocTypes first appear in the file."""

    def start(self) -> None:
        """An attempt begins; after a retried transaction, forget what the failed attempt reported."""

    def created(self, doctype: str, name: str) -> None: ...


class AllNames:
    """A :class:`NameSink` that keeps every name, per DocType (for files of ordinary size)."""

    def __init__(self) -> None:
        self.names: dict[str, list[str]] = {}

    def start(self) -> None:
        self.names = {}

    def created(self, doctype: str, name: str) -> None:
        self.names.setdefault(doctype, []).append(name)


class _Importer:
    def __init__(self, tx: Transaction, store: Store, stamp: Stamp, sink: NameSink) -> None:
        self.tx = tx
        self.stamp = stamp
        self.sink = sink
        self.lengths = {doctype: store.column_lengths(doctype) for doctype in FIELDS}
        #: Link values not yet known to resolve, in file order.
        self.pending: list[_PendingLink] = []
        #: Settle the pending Link values once there are this many (doubled when most of them must wait).
        self.settle_at = _BATCH
        self.batch: list[tuple[int, str, dict[str, Any]]] = []
        #: Country values met so far and the stored name each stands for (an import only adds countries).
        self.countries: dict[str, str] = {}

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
        if row.get("country"):
            row["country"] = self._country(row["country"])
        return doctype, row, links

    def _country(self, value: str) -> str:
        """The stored Country a name (any case) or an ISO 3166 alpha-2 code stands for, as update_address
        accepts them; a value that names none yet is kept as written, for :meth:`check_links` to judge at
        the end (a Country may come later in the file)."""
        if value not in self.countries:
            found = self.tx.find_country(value)
            if found is None and self.batch:
                self.flush()  # a Country earlier in the file may still wait in the batch
                found = self.tx.find_country(value)
            if found is None:
                return value
            self.countries[value] = found
        return self.countries[value]

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
        if len(self.pending) >= self.settle_at:
            self.settle_links()

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
        # A batch inserts its DocTypes in the order they first appear in it, each in file order, so the
        # DocTypes' first notes come in the order the DocTypes first appear in the file.
        self.sink.created(doctype, row["name"])

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

    def _stored(self) -> dict[str, dict[str, str]]:
        """For each pending Link target, the stored spelling of the pending values that exist."""
        by_target: dict[str, set[str]] = {}
        for item in self.pending:
            by_target.setdefault(item.target, set()).add(item.value)
        return {target: self.tx.stored_names(target, values) for target, values in by_target.items()
                if target in LINKABLE}  # fmt: skip

    def settle_links(self) -> None:
        """Forget the pending Link values that already name a stored document exactly: an import only adds
        documents, so they will still resolve at the end. The rest (forward references, other spellings)
        wait for :meth:`check_links`."""
        stored = self._stored()
        self.pending = [
            item for item in self.pending if item.target in stored and stored[item.target].get(item.value) != item.value
        ]
        self.settle_at = max(_BATCH, 2 * len(self.pending))

    def check_links(self) -> None:
        """Every Link value must name a document that exists once the whole file is in, spelt as stored
        (so that the file means the same on every backend, whatever its collation)."""
        stored = self._stored()
        for item in self.pending:
            if item.target not in stored:
                continue
            spelling = stored[item.target].get(item.value)
            if spelling is None and item.target == "Country":
                problem = f'Country "{item.value}" does not exist: {COUNTRY_HINT}'
            elif spelling is None:
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
    names = AllNames()
    load_documents(store, documents, stamp, names, progress)
    return names.names


def load_documents(
    store: Store,
    documents: Iterable[Any],
    stamp: Stamp,
    sink: NameSink,
    progress: Callable[[int], None] | None = None,  # called with the number of documents done
) -> int:
    """Insert the documents in one transaction, telling ``sink`` each name given; returns how many.

    ``documents`` is iterated once per attempt: a transaction that the database asks to run again (a
    deadlock) iterates it again from the start, so pass a list or an iterable whose every iteration starts
    over (such as a file reader), not a one-shot iterator; the documents themselves are not kept."""
    attempts = 0

    def work(tx: Transaction) -> int:
        nonlocal attempts
        attempts += 1
        if attempts > 1 and iter(documents) is documents:
            raise RuntimeError("a one-shot iterator of documents cannot be imported again after a retry")
        sink.start()
        importer = _Importer(tx, store, stamp, sink)
        position = 0
        for position, doc in enumerate(documents, start=1):
            importer.add(position, doc)
            if progress is not None:
                progress(position)  # documents done so far (a retried transaction starts again)
        importer.flush()
        importer.check_links()
        return position

    return store.write(work)
