"""Streamed import: the file is read as it is imported, so memory stays flat however long the file is; the
all-or-nothing rule and the first-culprit error hold at the end of a long file; broken JSON deep in an array
is reported at its document."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from erpnext_medusa.cli import documents
from erpnext_medusa.cli.documents import DocumentsFile, DocumentsFileError, read_documents
from erpnext_medusa.domain.errors import InvalidDocumentError
from tests.helpers import assert_clean_exit, assert_clean_failure, count, flat, invoke


def customers(n: int) -> list[dict[str, Any]]:
    """``n`` named Customers with a few fields each, some with non-Latin names and Medusa ids."""
    return [
        {
            "doctype": "Customer",
            "name": f"Customer {i:06d}" if i % 3 else f"شركة {i:06d}",
            "customer_name": f"Customer {i:06d}" if i % 3 else f"شركة {i:06d}",
            "customer_type": "Individual",
            "email_id": f"c{i}@example.com",
            "mobile_no": f"+9715{i:08d}",
            "customer_details": "x" * 200,  # a heavier document, as an export's would be
            **({"medusa_id": f"cus_{i:08d}"} if i % 10 == 0 else {}),
        }
        for i in range(n)
    ]


def write_lines(path: Path, docs: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    return path


# --- the reader: an array parsed piece by piece gives what json.loads gives --------------------------------


@pytest.fixture
def tiny_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read the array a few bytes at a time, so that every value straddles refills and cuts of the window."""
    monkeypatch.setattr(documents, "_CHUNK", 5)


def test_an_array_read_through_a_tiny_window_is_what_json_gives(tmp_path, tiny_window):
    rng = random.Random(7)
    docs = [
        {"doctype": "Customer", "name": f"ن {i}", "n": rng.randint(-(10**9), 10**9), "f": rng.random() * 1e6,
         "flags": [True, False, None], "text": 'a "quoted"\nline\\'}
        for i in range(300)
    ]  # fmt: skip
    path = tmp_path / "docs.json"
    for indent in (None, 2):
        path.write_text(json.dumps(docs, ensure_ascii=False, indent=indent), encoding="utf-8")
        assert read_documents(path) == docs


@pytest.mark.parametrize("indent", [None, 1], ids=["one line", "indented"])
@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda text: text.replace('"doctype"', '"doctype" 7', 1), "Expecting ':' delimiter"),
        (lambda text: text.replace("},", "}", 1), "Expecting ',' delimiter"),
        (lambda text: text.replace("true", "true,", 1), "Expecting property name enclosed in double quotes"),
        (lambda text: text.replace("true", "tru", 1), "Expecting value"),
    ],
    ids=["missing colon", "missing comma", "trailing comma", "bad literal"],
)
def test_broken_json_in_the_middle_of_a_long_array_names_its_document(tmp_path, tiny_window, indent, breakage, message):
    docs: list[dict[str, Any]] = [{"doctype": "Customer", "name": f"C{i}", "x": 1} for i in range(3000)]
    docs[1234] = {"doctype": "Customer", "name": "Culprit", "x": True}
    head = json.dumps(docs[:1234], indent=indent)[:-1].rstrip()  # the array, still open, before the culprit
    text = head + ", " + breakage(json.dumps(docs[1234:], indent=indent)[1:])
    path = tmp_path / "broken.json"
    path.write_text(text, encoding="utf-8")
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}: {exc.msg}"
    with pytest.raises(InvalidDocumentError) as caught:
        read_documents(path)
    position = 1235 + (message == "Expecting ',' delimiter")  # a missing comma is noticed at the next one
    assert caught.value.position == position
    assert str(caught.value).startswith(f"document {position}: not valid JSON ({where}")
    assert message in where
    assert "the file ends" not in str(caught.value)


def test_a_byte_that_is_not_utf8_deep_in_an_array_is_named_by_its_offset(tmp_path, tiny_window):
    good = json.dumps([{"doctype": "Customer", "name": f"C{i}"} for i in range(500)]).encode()
    path = tmp_path / "latin1.json"
    path.write_bytes(good[:-1] + b', {"name": "Caf\xe9"}]')
    offset = len(good[:-1] + b', {"name": "Caf') + 1
    with pytest.raises(DocumentsFileError, match=rf"not UTF-8 text \(byte {offset} cannot be read\)"):
        read_documents(path)


def test_every_pass_over_a_file_starts_again_from_its_beginning(tmp_path):
    docs = customers(5)
    for path in (write_lines(tmp_path / "docs.jsonl", docs), tmp_path / "docs.json"):
        if path.suffix == ".json":
            path.write_text(json.dumps(docs), encoding="utf-8")
        file = DocumentsFile(path)
        assert list(file) == docs
        assert list(file) == docs  # a retried transaction reads the whole file again
        assert file.bytes_read == file.size


# --- the command: all or nothing at the end of a long file ----------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["json lines", "array"])
def test_a_culprit_at_the_very_end_of_a_long_streamed_file_writes_nothing(db_file, tmp_path, shape):
    docs = customers(20_000)
    docs.append({**docs[0], "name": "Last One", "customer_type": "Nope"})
    path = tmp_path / "long.json"
    if shape == "array":
        path.write_text(json.dumps(docs, ensure_ascii=False), encoding="utf-8")
    else:
        write_lines(path, docs)
    assert_clean_exit(invoke("db", "upgrade"))
    result = invoke("import", str(path))
    assert_clean_failure(result)
    assert "document 20001 (Last One), field customer_type: must be one of Company, Individual" in flat(result.output)
    assert "nothing from this file was written" in flat(result.output)
    assert count(db_file, "tabCustomer") == 0


@pytest.mark.slow
def test_a_forward_link_at_the_end_of_a_long_file_resolves_and_a_dangling_one_is_the_culprit(db_file, tmp_path):
    docs = customers(3_000)
    for i, doc in enumerate(docs):
        doc["lead_name"] = f"LEAD-{i % 7}"  # resolved as soon as the leads are in: settled along the way
    docs.insert(0, {**docs.pop(), "lead_name": "LEAD-LATE"})  # a forward reference, kept to the end
    docs[:0] = [{"doctype": "Lead", "name": f"LEAD-{i}", "first_name": f"L{i}"} for i in range(7)]
    late = {"doctype": "Lead", "name": "LEAD-LATE", "first_name": "Late"}
    path = write_lines(tmp_path / "linked.jsonl", [*docs, late])
    assert_clean_exit(invoke("import", str(path)))
    assert count(db_file, "tabCustomer") == 3_000

    dangling = [{**d, "name": d["name"] + " b", "medusa_id": None} if d["doctype"] == "Customer" else d for d in docs]
    dangling = [d for d in dangling if d["doctype"] == "Customer"]
    dangling[-1]["lead_name"] = "LEAD-NOPE"
    result = invoke("import", str(write_lines(tmp_path / "dangling.jsonl", dangling)))
    assert_clean_failure(result)
    assert f"document {len(dangling)} ({dangling[-1]['name']}), field lead_name: Lead LEAD-NOPE does not exist" in flat(
        result.output
    )
    assert count(db_file, "tabCustomer") == 3_000


# --- memory: a file ten times as long takes about the same memory ------------------------------------------------

#: Runs the command in a child process and writes its peak resident set size (VmHWM, KiB) to the file given
#: first. (Not getrusage: Linux carries the forking parent's peak over into the child's.)
_MEASURED = """
import atexit, re, sys
out = sys.argv.pop(1)
def report():
    status = open("/proc/self/status").read()
    open(out, "w").write(re.search(r"VmHWM:\\s*(\\d+) kB", status)[1])
atexit.register(report)
from erpnext_medusa.cli import main
sys.argv[0] = "erpnext-medusa"
main()
"""


def _peak_rss_mib(tmp_path: Path, label: str, path: Path, *args: str) -> float:
    database = tmp_path / f"{label}.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ERPNEXT_MEDUSA_")}
    env["ERPNEXT_MEDUSA_DATABASE_URL"] = f"sqlite:///{database}"
    report = tmp_path / f"{label}.rss"
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, str(report), "import", *args, str(path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return int(report.read_text()) / 1024


@pytest.mark.slow
@pytest.mark.parametrize(("shape", "options"), [("json lines", ()), ("array", ("--json",))])
def test_memory_stays_flat_when_the_file_is_ten_times_longer(tmp_path, shape, options):
    docs = customers(50_000)
    small, large = tmp_path / "small.json", tmp_path / "large.json"
    for path, part in ((small, docs[:5_000]), (large, docs)):
        if shape == "array":
            path.write_text(json.dumps(part, ensure_ascii=False, indent=1), encoding="utf-8")
        else:
            write_lines(path, part)
    small_mib = _peak_rss_mib(tmp_path, "small", small, *options)
    large_mib = _peak_rss_mib(tmp_path, "large", large, *options)
    # Held whole, the 45,000 more documents would take about 70 MiB more (the file is ~20 MiB as text).
    assert large_mib - small_mib < 12, (small_mib, large_mib)
