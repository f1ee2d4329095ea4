"""``frappe.client.get_list`` over documents in memory: fields, filters, or_filters, order_by and paging, as
frappe/model/db_query.py (``DatabaseQuery``) and frappe/utils/data.py (``get_filter``, ``make_filter_tuple``)
read them.

Comparisons follow a MariaDB site (collation utf8mb4_unicode_ci): text compares without regard to case, and
``!=`` / ``not like`` / ``not in`` / ``is not set`` wrap the column in ``ifnull(col, '')`` as Frappe does.
A filter on a child DocType (``["Dynamic Link", "link_name", "=", "X"]``) keeps a parent when one of its rows
matches; each parent is listed once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from tests.erpnext_site.meta import OPTIONAL, STANDARD, DocType
from tests.erpnext_site.wire import Thrown, throw

OPERATORS = ("=", "!=", ">", "<", ">=", "<=", "like", "not like", "in", "not in", "is", "between")
Filter = tuple[str, str, str, Any]


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise throw(f"Invalid JSON: {value}") from None
    return value


def parse_filters(raw: Any, doctype: str) -> list[Filter]:
    """Frappe's two forms: a dict ``{field: value | [op, value]}`` or a list of 3- or 4-item lists."""
    raw = _json(raw)
    if not raw:
        return []
    found: list[Filter] = []
    if isinstance(raw, dict):
        for key, value in raw.items():
            if isinstance(value, list | tuple) and value:
                found.append((doctype, key, str(value[0]), value[1] if len(value) > 1 else None))
            else:
                found.append((doctype, key, "=", value))
    elif isinstance(raw, list):
        for item in raw:
            if not isinstance(item, list | tuple) or len(item) < 3:
                raise throw(f"Filter must have 4 values (doctype, fieldname, operator, value): {item}")
            parts = [doctype, *item] if len(item) == 3 else list(item)[:4]  # more than 4: the rest is dropped
            found.append((str(parts[0]), str(parts[1]), str(parts[2]), parts[3]))
    else:
        raise throw(f"Invalid filters: {raw}")
    for _, _, op, _ in found:
        if op.lower() not in OPERATORS:
            raise throw("Operator must be one of " + ", ".join(OPERATORS))
    return found


def _key(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _like(pattern: str) -> re.Pattern[str]:
    parts = (".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _compare(value: Any, op: str, target: Any) -> bool:
    op = op.lower()
    blank = "" if value is None else value
    if op == "is":
        is_set = blank != ""
        return is_set if str(target).lower() == "set" else not is_set
    if op in ("in", "not in"):
        items = target if isinstance(target, list) else [t.strip() for t in str(target).split(",")]
        inside = _key(blank) in {_key(i) for i in items}
        return inside if op == "in" else not inside
    if op in ("like", "not like"):
        hit = _like(str(target)).fullmatch(str(blank)) is not None
        return hit if op == "like" else not hit
    if op == "between":
        low, high = ([*target, None, None])[:2] if isinstance(target, list) else (None, None)
        return value is not None and _key(low) <= _key(value) <= _key(high)
    if op == "!=":
        return _key(blank) != _key("" if target is None else target)
    if value is None:
        return False
    try:
        return {
            "=": lambda: _key(value) == _key(target),
            ">": lambda: _key(value) > _key(target),
            "<": lambda: _key(value) < _key(target),
            ">=": lambda: _key(value) >= _key(target),
            "<=": lambda: _key(value) <= _key(target),
        }[op]()
    except TypeError:  # a number against text: SQL would cast; the double just says no
        return False


def _holds(doc: dict[str, Any], flt: Filter, meta: DocType) -> bool:
    doctype, fieldname, op, target = flt
    if doctype == meta.name:
        return _compare(doc.get(fieldname), op, target)
    rows = [row for table in meta.tables() if table.options == doctype for row in doc.get(table.fieldname) or []]
    return any(_compare(row.get(fieldname), op, target) for row in rows)


def _order(order_by: str | None, meta: DocType) -> list[tuple[str, bool]]:
    text = order_by or f"{meta.sort[0]} {meta.sort[1]}"
    keys = []
    for part in text.split(","):
        words = part.replace("`", "").strip().split()
        if not words:
            continue
        fieldname = words[0].rpartition(".")[2]
        keys.append((fieldname, len(words) > 1 and words[1].lower() == "desc"))
    return keys


def _project(doc: dict[str, Any], fields: list[str], meta: DocType) -> dict[str, Any]:
    if "*" in fields:
        names = [*STANDARD, *meta.columns(), *OPTIONAL]
    else:
        names = [f.replace("`", "").rpartition(".")[2] for f in fields]
    for name in names:
        if name not in STANDARD and name not in OPTIONAL and name not in meta.fields:
            # [derived] MariaDB refuses an unknown column (1054); Frappe answers it as a 500.
            raise _unknown_column(name)
    return {name: doc.get(name) for name in names}


def _unknown_column(name: str) -> Thrown:
    text = f"(1054, \"Unknown column '{name}' in 'field list'\")"
    return Thrown(500, "OperationalError", text, module="pymysql.err")


def get_list(
    docs: list[dict[str, Any]],
    meta: DocType,
    args: dict[str, Any],
    visible: Callable[[dict[str, Any]], bool] = lambda doc: True,
) -> list[dict[str, Any]]:
    """The rows ``/api/resource/<DocType>`` answers for query arguments ``args`` (all values as sent)."""
    fields = _json(args.get("fields")) or ["name"]
    if isinstance(fields, str):
        fields = [fields]
    filters = parse_filters(args.get("filters"), meta.name)
    or_filters = parse_filters(args.get("or_filters"), meta.name)
    rows = [
        d
        for d in docs
        if visible(d)
        and all(_holds(d, f, meta) for f in filters)
        and (not or_filters or any(_holds(d, f, meta) for f in or_filters))
    ]
    for fieldname, descending in reversed(_order(args.get("order_by"), meta)):
        present = [r for r in rows if r.get(fieldname) is not None]
        missing = [r for r in rows if r.get(fieldname) is None]
        present.sort(key=lambda r: _key(r[fieldname]), reverse=descending)
        rows = missing + present if not descending else present + missing  # NULLs sort first ascending
    start = _int(args.get("limit_start"))
    length = _int(args.get("limit_page_length", args.get("limit") or 20))
    rows = rows[start : start + length] if length else rows[start:]
    return [_project(r, fields, meta) for r in rows]


def _int(value: Any) -> int:
    """Frappe's ``cint``: anything unreadable is 0."""
    try:
        return max(0, int(str(value).strip() or 0))
    except ValueError:
        return 0
