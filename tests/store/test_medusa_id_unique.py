"""One document per medusa_id, the same rule for ERPNext's own writes (plain SQL, as Frappe writes) as for the
service's: ids are compared exactly (letter case counts, as in Medusa's own keys), empty ids repeat. On MariaDB
the refusal of ERPNext's desk, which Frappe words from the violated index's first column, names the field:
"Medusa ID must be unique" (migration 0008). On every backend."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from erpnext_medusa.domain.errors import MedusaIdLinkedElsewhereError
from erpnext_medusa.domain.leads import link_medusa_lead
from erpnext_medusa.services import Services
from erpnext_medusa.store.sql import tables as t
from tests.helpers import customer, execute, lead, rows, seed, stamp

INSERT = 'INSERT INTO "{table}" (name, {title}, medusa_id) VALUES (:name, :name, :medusa_id)'


def _erpnext_saves(services: Services, doctype: str, name: str, medusa_id: str) -> None:
    table, title = ("tabCustomer", "customer_name") if doctype == "Customer" else ("tabLead", "lead_name")
    execute(services, INSERT.format(table=table, title=title), name=name, medusa_id=medusa_id)


def _frappe_message(services: Services, error: IntegrityError, doctype: str) -> str:
    """What Frappe v15's ``show_unique_validation_message`` prints on MariaDB: the key named in the error, the
    first column of that unique index (``SHOW INDEX``), that field's label, else the column's own name."""
    key = str(error.orig).split("'")[-2].rpartition(".")[2]
    with services.store.engine.connect() as conn:
        found = conn.execute(
            text(f"SHOW INDEX FROM `tab{doctype}` WHERE key_name = :key AND Non_unique = 0"), {"key": key}
        ).mappings().all()  # fmt: skip
    column = found[0]["Column_name"] if found else key
    labels = {"medusa_id": "Medusa ID"}  # the label of the Custom Field that declares it (erpnext setup's)
    return f"{labels.get(column) or column} must be unique"


@pytest.mark.parametrize("doctype", ["Customer", "Lead"])
def test_erpnext_saving_a_taken_medusa_id_is_refused_and_worded_with_the_fields_label(services, doctype):
    _erpnext_saves(services, doctype, "First", "cus_01TAKEN")
    _erpnext_saves(services, doctype, "Empty 1", "")
    _erpnext_saves(services, doctype, "Empty 2", "")  # empty ids repeat
    with pytest.raises(IntegrityError) as refused:
        _erpnext_saves(services, doctype, "Second", "cus_01TAKEN")
    if services.store.dialect in t.MARIADB:
        assert _frappe_message(services, refused.value, doctype) == "Medusa ID must be unique"


@pytest.mark.parametrize("doctype", ["Customer", "Lead"])
def test_ids_differing_in_letter_case_are_two_ids_for_erpnext_and_the_service_alike(services, doctype):
    _erpnext_saves(services, doctype, "Upper", "cus_01ABC")
    _erpnext_saves(services, doctype, "Lower", "cus_01abc")  # the database: two ids
    table = "tabCustomer" if doctype == "Customer" else "tabLead"
    found = rows(services, f'SELECT name FROM "{table}" WHERE medusa_id IS NOT NULL ORDER BY name')
    assert [r["name"] for r in found] == ["Lower", "Upper"]


def test_the_services_link_compares_ids_as_the_index_does(services):
    seed(
        services, customer("Holder", medusa_id="cus_01ABC"), customer("Other"), customer("Third"),
        lead("L-SAME", medusa_id="cus_01ABC"), lead("L-CASE", medusa_id="cus_01abc"),
    )  # fmt: skip
    with pytest.raises(MedusaIdLinkedElsewhereError):
        link_medusa_lead(services.store, "Other", "L-SAME", stamp())
    link_medusa_lead(services.store, "Third", "L-CASE", stamp())  # another id, as the index says
    linked = rows(services, 'SELECT name, medusa_id FROM "tabCustomer" WHERE medusa_id IS NOT NULL ORDER BY name')
    assert linked == [{"name": "Holder", "medusa_id": "cus_01ABC"}, {"name": "Third", "medusa_id": "cus_01abc"}]
