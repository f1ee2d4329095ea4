"""The double's documents and what Frappe v15 / ERPNext v15 do when one is inserted, saved or deleted.

Order of work, as frappe/model/document.py: insert = defaults, links (``_validate_links``), ``create``
permission, naming, controller ``validate``, ``_validate`` (mandatory, selects, lengths), ``db_insert``
(409 on a taken name, UniqueValidationError on a unique field), ``after_insert``, ``on_update``; save (PUT) =
``write`` permission, ``set_user_and_timestamp``, ``check_if_latest`` (TimestampMismatchError), links,
``validate``, ``_validate``, ``db_update``, ``on_update``, a Version, ``on_change``; delete
(frappe/model/delete_doc.py) = exists, ``delete`` permission, ``on_trash``, ``on_change``, link check,
removal, a Deleted Document record.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from erpnext_medusa.domain.addresses import render_address
from erpnext_medusa.domain.leads import lead_titles
from tests.erpnext_site import query
from tests.erpnext_site.meta import (
    CHILD_STANDARD,
    CREATE,
    DELETE,
    OPTIONAL,
    READ,
    STANDARD,
    WRITE,
    DocField,
    DocType,
    doctypes,
)
from tests.erpnext_site.wire import Thrown, message, raising, throw


class Clock:
    """``frappe.utils.now()`` strings, strictly increasing (two writes never share a ``modified``)."""

    def __init__(self) -> None:
        self._last = datetime.min

    def now(self) -> str:
        stamp = max(datetime.now(), self._last + timedelta(microseconds=1))
        self._last = stamp
        return str(stamp)


@dataclass
class Ctx:
    """One request: who makes it, what it printed, and which document events it raised (for webhooks)."""

    user: str
    roles: frozenset[str]
    log: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # (event, doctype, doc)


def _plain(text: Any) -> str:
    return re.sub(r"<[^>]*>", "", "" if text is None else str(text)).strip()


class Documents:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.meta: dict[str, DocType] = doctypes()
        self.docs: dict[str, dict[str, dict[str, Any]]] = {dt: {} for dt in self.meta}
        self.series: dict[str, int] = {}
        #: Fields a site made mandatory (Customize Form), per DocType.
        self.required: dict[str, set[str]] = {}
        self.user_exists = lambda name: False

    # Reading ---------------------------------------------------------------------------------------------

    def allowed(self, ctx: Ctx, doctype: str, ptype: str) -> bool:
        if ctx.user == "Administrator":
            return True
        perms = self.meta[doctype].permissions
        return any(ptype in perms.get(role, ()) for role in ctx.roles)

    def check(self, ctx: Ctx, doctype: str, ptype: str) -> None:
        """``frappe.has_permission(doctype, ptype, throw=True)``: a bare PermissionError with ``_error_message``."""
        if not self.allowed(ctx, doctype, ptype):
            raise Thrown(403, "PermissionError", error_message=f"No permission for {doctype}")

    def doctype(self, doctype: str) -> DocType:
        if doctype not in self.meta or self.meta[doctype].istable:
            raise throw(f"DocType {doctype} not found", "DoesNotExistError", 404)
        return self.meta[doctype]

    def find(self, doctype: str, name: Any) -> str | None:
        """The stored name matching ``name`` as MariaDB's case-insensitive primary key would."""
        if not isinstance(name, str):
            return None
        if name in self.docs[doctype]:
            return name
        folded = name.casefold()
        return next((n for n in self.docs[doctype] if n.casefold() == folded), None)

    def load(self, ctx: Ctx, doctype: str, name: str) -> dict[str, Any]:
        """``frappe.get_doc``: 404 "<DocType> <name> not found", which becomes a bare 403 when the user may
        not read the DocType at all (frappe/permissions.py ``handle_does_not_exist_error``)."""
        self.doctype(doctype)
        found = self.find(doctype, name)
        if found is None:
            if not self.allowed(ctx, doctype, READ):
                raise Thrown(403, "PermissionError", error_message=f"No permission for {doctype}")
            raise throw(f"{doctype} {name} not found", "DoesNotExistError", 404)
        return self.docs[doctype][found]

    def as_dict(self, doc: dict[str, Any], *, no_nulls: bool) -> dict[str, Any]:
        """``Document.as_dict``: child rows as dicts; passwords shown masked as Frappe does."""
        meta = self.meta[doc["doctype"]]
        out: dict[str, Any] = {}
        for key, value in doc.items():
            if key in meta.fields and meta.fields[key].fieldtype == "Table":
                value = [self.as_dict(row, no_nulls=no_nulls) for row in value]
            elif key in meta.fields and meta.fields[key].fieldtype == "Password" and value:
                value = "*" * len(str(value))
            if value is None and no_nulls:
                continue
            out[key] = value
        return out

    def list(self, ctx: Ctx, doctype: str, args: dict[str, Any]) -> list[dict[str, Any]]:
        meta = self.doctype(doctype)
        self.check(ctx, doctype, READ)
        return query.get_list(list(self.docs[doctype].values()), meta, args)

    # Writing ---------------------------------------------------------------------------------------------

    def _new(self, meta: DocType) -> dict[str, Any]:
        doc: dict[str, Any] = dict.fromkeys(STANDARD)
        doc.update(docstatus=0, idx=0, doctype=meta.name)
        for f in meta.fields.values():
            doc[f.fieldname] = [] if f.fieldtype == "Table" else f.default
        if not meta.istable:
            doc.update(dict.fromkeys(OPTIONAL))
        return doc

    def _cast(self, f: DocField, value: Any) -> Any:
        if f.fieldtype in ("Check", "Int"):
            try:
                return int(value or 0)
            except (TypeError, ValueError):
                return 0
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value) if isinstance(value, dict | list) else str(value)

    def _rows(self, table: DocField, given: Any, current: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A child table replaced by the rows given (Frappe ``doc.update``; rows keep their name when they
        carry an existing one)."""
        child = self.meta[table.options]
        existing = {row["name"]: row for row in current}
        rows = []
        for i, item in enumerate(given if isinstance(given, list) else [], start=1):
            if not isinstance(item, dict):
                continue
            row = copy.deepcopy(existing.get(item.get("name"))) or self._new(child)
            for key, value in item.items():
                if key in child.fields:
                    row[key] = self._cast(child.fields[key], value)
            row.update(idx=i, parentfield=table.fieldname, doctype=child.name)
            row["name"] = row["name"] or secrets.token_hex(5)
            rows.append(row)
        return rows

    def _apply(self, doc: dict[str, Any], data: dict[str, Any]) -> None:
        meta = self.meta[doc["doctype"]]
        for key, value in data.items():
            f = meta.fields.get(key)
            if f is None:
                if key == "modified":  # the caller's copy of it: what ``check_if_latest`` compares
                    doc["modified"] = value
                continue  # Frappe keeps only valid columns: an unknown key is dropped
            if f.fieldtype == "Table":
                doc[key] = self._rows(f, value, doc[key])
            else:
                doc[key] = self._cast(f, value)

    def _stamp(self, ctx: Ctx, doc: dict[str, Any], *, new: bool) -> str | None:
        original = doc.get("modified")
        doc["modified"] = self.clock.now()
        doc["modified_by"] = ctx.user
        if new:
            doc["creation"], doc["owner"] = doc["modified"], ctx.user
        for table in self.meta[doc["doctype"]].tables():
            for row in doc[table.fieldname]:
                row.update(modified=doc["modified"], modified_by=ctx.user)
                row["owner"] = row["owner"] or doc["owner"]
                row["creation"] = row["creation"] or doc["creation"]
        return None if original is None else str(original)

    def insert(self, ctx: Ctx, doctype: str, data: dict[str, Any], *, ignore_permissions: bool = False) -> dict:
        meta = self.doctype(doctype)
        data = {k: v for k, v in data.items() if k not in ("doctype", "name", *STANDARD)}
        doc = self._new(meta)
        self._apply(doc, data)
        self._stamp(ctx, doc, new=True)
        self._links(doc)
        if not ignore_permissions and not self.allowed(ctx, doctype, CREATE):
            raise Thrown(403, "PermissionError", error_message=f"No permission for {doctype}")
        doc["name"] = self._autoname(ctx, doc)
        self._controller_validate(ctx, doc, before=None)
        self._validate(doc)
        self._db_insert(doc)
        ctx.events.append(("after_insert", doctype, doc))
        self._on_update(ctx, doc)
        ctx.events.append(("on_update", doctype, doc))
        if doctype == "Custom Field":
            self._add_custom_field(doc)
        return doc

    def update(self, ctx: Ctx, doctype: str, name: str, data: dict[str, Any]) -> dict[str, Any]:
        stored = self.load(ctx, doctype, name)
        before = copy.deepcopy(stored)
        doc = copy.deepcopy(stored)
        data = {k: v for k, v in data.items() if k not in ("flags", "doctype", "name")}
        self._apply(doc, data)
        if not self.allowed(ctx, doctype, WRITE):
            raise Thrown(403, "PermissionError", error_message=f"No permission for {doctype}")
        original = self._stamp(ctx, doc, new=False)
        if str(before["modified"]) != str(original):
            text = (
                "Error: Document has been modified after you have opened it"
                f" ({before['modified']}, {doc['modified']}). Please refresh to get the latest document."
            )
            raise throw(text, "TimestampMismatchError")
        self._links(doc)
        self._controller_validate(ctx, doc, before=before)
        self._validate(doc)
        self._unique(doc)
        self.docs[doctype][doc["name"]] = doc
        self._on_update(ctx, doc)
        ctx.events.append(("on_update", doctype, doc))
        self._version(ctx, before, doc)
        ctx.events.append(("on_change", doctype, doc))
        return doc

    def delete(self, ctx: Ctx, doctype: str, name: str, *, ignore_permissions: bool = False) -> None:
        doc = self.load(ctx, doctype, name)
        if not ignore_permissions and ctx.user != "Administrator" and not self.allowed(ctx, doctype, DELETE):
            raise Thrown(
                403, "PermissionError", f"User not allowed to delete {doctype}: {doc['name']}",
                [raising(f"User not allowed to delete {doctype}: {doc['name']}")],
            )  # fmt: skip
        if doctype == "Customer":  # erpnext customer.py on_trash: delete_contact_and_address
            doc["customer_primary_address"] = doc["customer_primary_contact"] = None
            for dt in ("Contact", "Address"):
                for other in list(self.docs[dt].values()):
                    links = [(r["link_doctype"], r["link_name"]) for r in other["links"]]
                    if links == [("Customer", doc["name"])]:
                        self.delete(ctx, dt, other["name"], ignore_permissions=True)
        ctx.events.append(("on_trash", doctype, doc))
        ctx.events.append(("on_change", doctype, doc))
        self._no_links_to(doc)
        del self.docs[doctype][doc["name"]]
        record = self._new(self.meta["Deleted Document"])
        record.update(
            deleted_doctype=doctype,
            deleted_name=doc["name"],
            data=json.dumps(self.as_dict(doc, no_nulls=False), indent=1, sort_keys=True, default=str),
        )
        self._stamp(ctx, record, new=True)
        record["name"] = secrets.token_hex(5)
        self.docs["Deleted Document"][record["name"]] = record

    # Rules -----------------------------------------------------------------------------------------------

    def _links(self, doc: dict[str, Any]) -> None:
        """``_validate_links``: every Link and Dynamic Link must name a stored document (its case fixed)."""
        bad: list[str] = []

        def check(row: dict[str, Any], meta: DocType, where: str) -> None:
            for f in meta.fields.values():
                value = row.get(f.fieldname)
                if not value or f.fieldtype not in ("Link", "Dynamic Link"):
                    continue
                target = f.options if f.fieldtype == "Link" else row.get(f.options)
                if target == "User":
                    ok = self.user_exists(value)
                else:
                    found = self.find(target, value) if target in self.docs else None
                    ok = found is not None
                    row[f.fieldname] = found if ok else value
                if not ok:
                    bad.append(f"{where}{f.label}: {value}")

        meta = self.meta[doc["doctype"]]
        check(doc, meta, "")
        for table in meta.tables():
            for row in doc[table.fieldname]:
                check(row, self.meta[table.options], f"Row #{row['idx']}: ")
        if bad:
            raise throw("Could not find " + ", ".join(bad), "LinkValidationError")

    def _autoname(self, ctx: Ctx, doc: dict[str, Any]) -> str:
        meta = self.meta[doc["doctype"]]
        rule, _, arg = meta.autoname.partition(":")
        name: str | None
        if rule == "customer":  # erpnext customer.py get_customer_name ("Customer Name" naming)
            name = doc["customer_name"]
            if name and self.find("Customer", name):
                pattern = query._like(f"%{name} - %")
                numbers = [n.rsplit(" ", 1)[-1] for n in self.docs["Customer"] if pattern.fullmatch(n)]
                count = max((int(n) for n in numbers if n.isdigit()), default=0) + 1
                new = f"{name} - {count}"
                ctx.log.append(message(
                    f"Changed customer name to '{new}' as '{name}' already exists.", title="Note",
                    indicator="yellow", alert=1,
                ))  # fmt: skip
                name = new
        elif rule == "series":  # frappe/model/naming.py make_autoname(naming_series + ".#####")
            prefix = "".join(datetime.now().strftime("%Y") if part == "YYYY" else part for part in doc[arg].split("."))
            name = f"{prefix}{self._next(prefix):05d}"
        elif rule == "address":  # frappe address.py autoname
            if not doc["address_title"] and doc["links"]:
                first = doc["links"][0]
                doc["address_title"] = first["link_title"] or first["link_name"]
            if not doc["address_title"]:
                raise throw("Address Title is mandatory.")
            base = f"{str(doc['address_title']).strip()}-{str(doc['address_type']).strip()}"
            name = base if not self.find("Address", base) else f"{base}-{self._next(base + '-')}"
        elif rule == "field":
            name = doc[arg]
        elif rule == "custom_field":
            doc["fieldname"] = doc["fieldname"] or re.sub(r"\W", "", str(doc["label"] or "").replace(" ", "_")).lower()
            name = f"{doc['dt']}-{doc['fieldname']}"
        elif rule == "contact":
            base = " ".join(p for p in (doc["first_name"], doc["last_name"]) if p) or doc["email_id"]
            name, n = base, 0
            while name and self.find("Contact", name):
                n += 1
                name = f"{base}-{n}"
        else:
            name = secrets.token_hex(5)
        name = (name or "").strip()
        if not name:
            raise throw(f"No Name Specified for {meta.name}")
        return name

    def _next(self, prefix: str) -> int:
        self.series[prefix] = self.series.get(prefix, 0) + 1
        return self.series[prefix]

    def _controller_validate(self, ctx: Ctx, doc: dict[str, Any], *, before: dict | None) -> None:
        doctype = doc["doctype"]
        if doctype == "Lead":  # erpnext lead.py validate: set_full_name, set_title
            titles = lead_titles(doc)
            if titles is None:
                raise throw("A Lead requires either a person's name or an organization's name")
            doc["lead_name"], doc["title"] = titles
        if doctype == "Address":
            self._preferred(ctx, doc)
            seen = set()
            rows = []
            for row in doc["links"]:  # set_link_title, then deduplicate_dynamic_links
                linked = self.docs.get(row["link_doctype"], {}).get(row["link_name"], {})
                title = linked.get("customer_name") or linked.get("title") or linked.get("lead_name")
                row["link_title"] = title or row["link_name"]
                if (row["link_doctype"], row["link_name"]) not in seen:
                    seen.add((row["link_doctype"], row["link_name"]))
                    rows.append(row)
            for i, row in enumerate(rows, start=1):
                row["idx"] = i
            doc["links"] = rows

    def _preferred(self, ctx: Ctx, doc: dict[str, Any]) -> None:
        """frappe address.py ``validate_preferred_address``: for each preferred flag set here and each link,
        the first non-disabled Address of that party with the flag (possibly this one) gets it cleared by
        ``frappe.db.set_value``: its ``modified`` moves, no hook and no webhook runs."""
        for flag in ("is_primary_address", "is_shipping_address"):
            if not doc[flag]:
                continue
            for link in doc["links"]:
                other = next(
                    (
                        a for a in self.docs["Address"].values()
                        if a[flag] and not a["disabled"]
                        and any((r["link_doctype"], r["link_name"]) == (link["link_doctype"], link["link_name"])
                                for r in a["links"])
                    ),
                    None,
                )  # fmt: skip
                if other is not None:
                    self.set_value("Address", other["name"], {flag: 0}, user=ctx.user)

    def _validate(self, doc: dict[str, Any]) -> None:
        meta = self.meta[doc["doctype"]]
        missing: list[tuple[str, str]] = []
        required = self.required.get(meta.name, set())
        for f in meta.fields.values():
            value = doc.get(f.fieldname)
            if (f.reqd or f.fieldname in required) and (value in (None, []) or not _plain(value)):
                missing.append((f.fieldname, f"Error: Value missing for {meta.name}: {f.label}"))
        for table in meta.tables():
            child = self.meta[table.options]
            for row in doc[table.fieldname]:
                for f in child.fields.values():
                    if f.reqd and not _plain(row.get(f.fieldname)):
                        missing.append(
                            (f.fieldname, f"Error: <strong>{child.name}</strong> Row #{row['idx']}: "
                                          f"Value missing for: {f.label}")
                        )  # fmt: skip
        if missing:  # document.py _validate_mandatory: one msgprint each, then a MandatoryError
            fields = ", ".join(m[0] for m in missing)
            raise Thrown(417, "MandatoryError", f"[{meta.name}, {doc['name']}]: {fields}",
                         [message(m[1]) for m in missing])  # fmt: skip
        for f in meta.fields.values():
            value = doc.get(f.fieldname)
            if f.fieldtype == "Select" and value and f.options and f.fieldname != "naming_series":
                options = f.options.split("\n")
                if value not in options:  # base_document.py _validate_selects
                    joined = '", "'.join(options)
                    raise throw(f' {f.label} cannot be "{value}". It should be one of "{joined}"')
            if f.fieldtype in ("Data", "Select", "Link") and isinstance(value, str) and len(value) > f.length:
                raise throw(
                    f"{meta.name} {doc['name']}: '<strong>{f.label}</strong>' ({value}) will get truncated, "
                    f"as max characters allowed is {f.length}", "CharacterLengthExceededError",
                    title="Value too big",
                )  # fmt: skip

    def _unique(self, doc: dict[str, Any]) -> None:
        """A unique field's value held by another document: base_document.py ``show_unique_validation_message``
        prints "<label> must be unique" (not raising) and raises UniqueValidationError (417)."""
        meta = self.meta[doc["doctype"]]
        for f in meta.fields.values():
            value = doc.get(f.fieldname)
            if not f.unique or value in (None, ""):
                continue
            for other in self.docs[meta.name].values():
                if (
                    other["name"] != doc["name"]
                    and str(other.get(f.fieldname) or "").casefold() == str(value).casefold()
                ):
                    text = (f"('{meta.name}', '{doc['name']}', IntegrityError(1062, \"Duplicate entry "
                            f"'{value}' for key '{f.fieldname}'\"))")  # fmt: skip
                    raise Thrown(417, "UniqueValidationError", text, [message(f"{f.label} must be unique")])

    def _db_insert(self, doc: dict[str, Any]) -> None:
        meta = self.meta[doc["doctype"]]
        if self.find(meta.name, doc["name"]) is not None:  # base_document.py db_insert, primary key taken
            text = (f"('{meta.name}', '{doc['name']}', IntegrityError(1062, \"Duplicate entry "
                    f"'{doc['name']}' for key 'PRIMARY'\"))")  # fmt: skip
            note = message(f"{meta.name} <strong>{doc['name']}</strong> already exists", title="Duplicate Name",
                           indicator="red")  # fmt: skip
            raise Thrown(409, "DuplicateEntryError", text, [note])
        self._unique(doc)
        for table in meta.tables():
            for row in doc[table.fieldname]:
                row.update(parent=doc["name"], parenttype=meta.name)
        self.docs[meta.name][doc["name"]] = doc

    def _on_update(self, ctx: Ctx, doc: dict[str, Any]) -> None:
        if doc["doctype"] == "Address":  # erpnext/accounts/custom/address.py ERPNextAddress.on_update
            display = render_address(doc)
            for customer in list(self.docs["Customer"].values()):
                if customer["customer_primary_address"] == doc["name"]:
                    self.set_value("Customer", customer["name"], {"primary_address": display}, user=ctx.user)

    def _version(self, ctx: Ctx, before: dict[str, Any], after: dict[str, Any]) -> None:
        """A Version of what a save changed (frappe/core/doctype/version ``update_version_info``)."""
        meta = self.meta[after["doctype"]]
        if not meta.track_changes:
            return
        changed = [
            [f.fieldname, before.get(f.fieldname), after.get(f.fieldname)]
            for f in meta.fields.values()
            if f.fieldtype != "Table" and before.get(f.fieldname) != after.get(f.fieldname)
        ]
        rows = {t.fieldname: ([r["name"] for r in before[t.fieldname]], [r["name"] for r in after[t.fieldname]])
                for t in meta.tables()}  # fmt: skip
        added = [[t, r] for t, (old, new) in rows.items() for r in new if r not in old]
        removed = [[t, r] for t, (old, new) in rows.items() for r in old if r not in new]
        if not (changed or added or removed):
            return
        data = {"added": added, "changed": changed, "data_import": None, "removed": removed, "row_changed": [],
                "updater_reference": None}  # fmt: skip
        version = self._new(self.meta["Version"])
        version.update(ref_doctype=meta.name, docname=after["name"], data=json.dumps(data, indent=1, default=str))
        self._stamp(ctx, version, new=True)
        version["name"] = secrets.token_hex(5)
        self.docs["Version"][version["name"]] = version

    def _no_links_to(self, doc: dict[str, Any]) -> None:
        """delete_doc.py ``check_if_doc_is_linked`` / ``..._dynamically_linked``: LinkExistsError (417)."""
        for dt, stored in self.docs.items():
            meta = self.meta[dt]
            for other in stored.values():
                if (dt, other["name"]) == (doc["doctype"], doc["name"]):
                    continue
                refs = [f for f in meta.fields.values() if f.fieldtype == "Link" and f.options == doc["doctype"]
                        and other.get(f.fieldname) == doc["name"]]  # fmt: skip
                rows = [r for t in meta.tables() for r in other[t.fieldname]
                        if (r.get("link_doctype"), r.get("link_name")) == (doc["doctype"], doc["name"])]  # fmt: skip
                if refs or rows:
                    at = f" at Row: {rows[0]['idx']}" if rows else ""
                    if "disabled" in self.meta[doc["doctype"]].fields:
                        raise throw(f"You can disable this {doc['doctype']} instead of deleting it.", "LinkExistsError")
                    raise throw(
                        f"Cannot delete or cancel because {doc['doctype']} {doc['name']} is linked with "
                        f"{dt} {other['name']}{at}", "LinkExistsError",
                    )  # fmt: skip

    def _add_custom_field(self, doc: dict[str, Any]) -> None:
        target = self.meta.get(doc["dt"])
        if target is not None:
            target.fields[doc["fieldname"]] = DocField(
                doc["fieldname"], doc["label"] or doc["fieldname"], doc["fieldtype"] or "Data",
                options=doc["options"] or "", reqd=bool(doc["reqd"]), unique=bool(doc["unique"]),
                default=doc["default"],
            )  # fmt: skip
            for stored in self.docs[target.name].values():
                stored.setdefault(doc["fieldname"], doc["default"])

    def set_value(self, doctype: str, name: str, values: dict[str, Any], *, user: str, bump: bool = True) -> None:
        """``frappe.db.set_value`` (an SQL UPDATE): no validation, no hook, no webhook; ``modified`` moves
        unless ``bump`` is off."""
        doc = self.docs[doctype][name]
        doc.update(values)
        if bump:
            doc.update(modified=self.clock.now(), modified_by=user)


__all__ = ["CHILD_STANDARD", "Clock", "Ctx", "Documents"]
