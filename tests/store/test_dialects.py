"""The typeahead's dialects (store/sql/dialects/) and its planner (store/sql/planner.py)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from erpnext_medusa.store.sql import planner
from erpnext_medusa.store.sql.dialects import for_dialect
from erpnext_medusa.store.sql.dialects.mariadb import MariaDB
from erpnext_medusa.store.sql.dialects.postgresql import PostgreSQL
from erpnext_medusa.store.sql.dialects.sqlite import SQLite


@pytest.mark.parametrize(("name", "kind"), [("sqlite", SQLite), ("postgresql", PostgreSQL), ("mysql", MariaDB),
                                            ("mariadb", MariaDB)])  # fmt: skip
def test_each_sqlalchemy_dialect_name_has_its_database(name, kind):
    assert isinstance(for_dialect(name), kind)


def test_an_unknown_database_is_refused_by_name():
    with pytest.raises(ValueError, match="oracle"):
        for_dialect("oracle")


def test_the_planner_is_plain_python():
    tree = ast.parse(Path(planner.__file__).read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}  # fmt: skip
    imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, sorted(imported)
