"""Reading import files: JSON arrays and JSON lines, and what a broken or empty file says (no database)."""

from __future__ import annotations

import json

import pytest

from erpnext_medusa.cli.documents import DocumentsFileError, read_documents
from erpnext_medusa.domain.errors import InvalidDocumentError
from tests.helpers import address, customer, lead

SAMPLE = [
    customer("Ali Hassan"),
    lead("LEAD-1", medusa_id="cus_1"),
    address("Home", "Ali Hassan"),
]


def test_read_json_array(tmp_path):
    path = tmp_path / "docs.json"
    path.write_text(json.dumps(SAMPLE, ensure_ascii=False, indent=2), encoding="utf-8")
    assert read_documents(path) == SAMPLE


def test_read_json_lines(tmp_path):
    path = tmp_path / "docs.jsonl"
    path.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in SAMPLE) + "\n\n", encoding="utf-8")
    assert read_documents(path) == SAMPLE


def test_read_json_array_with_leading_whitespace_and_unicode(tmp_path):
    docs = [customer("شركة النور")]
    path = tmp_path / "docs.json"
    path.write_text("\n  " + json.dumps(docs, ensure_ascii=False), encoding="utf-8")
    assert read_documents(path) == docs


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "docs.json"
    path.write_text(json.dumps(SAMPLE), encoding="utf-8-sig")
    assert read_documents(path) == SAMPLE


@pytest.mark.parametrize(
    ("text", "position", "where"),
    [
        ('[{"doctype": "Customer", "name": "A", "customer_name": "A"}', 2, "line 1 column 60"),
        ('[{"doctype": "Customer",}]', 1, "line 1 column 25"),
        ('[\n {"doctype": "Lead"},\n {"doctype": "Lead"}\n {"doctype": "Lead"}\n]', 3, "line 4 column 2"),
        ('[{"doctype": "Lead"}, {"doctype": "Lead", "x": tru}]', 2, "line 1 column 48"),
        ('{"doctype": "Customer", "name": "A", "customer_name": "A"}\n\n{"doctype": "Customer", "name": ', 2, "line 3"),
        ("not json at all", 1, "line 1"),
    ],
    ids=["unterminated array", "trailing comma", "missing comma", "bad value", "broken json line", "garbage"],
)
def test_invalid_json_names_the_document_from_one_and_not_the_file(tmp_path, text, position, where):
    path = tmp_path / "bad-file-name.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidDocumentError) as caught:
        read_documents(path)
    message = str(caught.value)
    assert caught.value.position == position
    assert message.startswith(f"document {position}: not valid JSON ({where}")
    assert "bad-file-name" not in message  # the caller names the file, once


def test_a_truncated_array_says_so(tmp_path):
    path = tmp_path / "cut.json"
    path.write_text(json.dumps(SAMPLE)[:-1], encoding="utf-8")
    with pytest.raises(InvalidDocumentError, match="the file ends before the array is closed"):
        read_documents(path)


@pytest.mark.parametrize("text", ["", "\n  \n", "[]", " [ ] "], ids=["empty", "blank lines", "empty array", "spaced"])
def test_a_file_without_documents_is_an_error(tmp_path, text):
    path = tmp_path / "empty.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DocumentsFileError, match="holds no documents"):
        read_documents(path)


def test_a_file_that_is_not_utf8_is_an_error(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes(json.dumps([customer("Café")], ensure_ascii=False).encode("latin-1"))
    with pytest.raises(DocumentsFileError, match="not UTF-8"):
        read_documents(path)
