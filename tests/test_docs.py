"""The docs against the tree, so that they cannot drift: the README's layout names every module and only
files that exist, docs/operations.md lists exactly the migrations of both tracks, docs/configuration.md and .env.example
name every setting and no other, and every relative link in README.md and docs/*.md reaches its file and
heading."""

from __future__ import annotations

import re
from pathlib import Path

from erpnext_medusa.config import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "erpnext_medusa"
MIGRATIONS = PACKAGE / "store" / "sql"
SKIPPED = {"__init__.py"}


def readme_layout() -> set[Path]:
    """The paths the README's layout block names, relative to the package."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("```\nsrc/erpnext_medusa/\n", 1)[1].split("```", 1)[0]
    named: set[Path] = set()
    folder = Path()
    for line in block.splitlines():
        words = line.split()
        if not words:
            continue
        if not line.startswith(" " * 6):  # a new folder (or the package's own files) starts the line
            folder = Path(words[0]) if words[0].endswith("/") else Path()
            if words[0].endswith("/"):
                named.add(folder)
                words = words[1:]
        named.update(folder / word.rstrip("/") for word in words)
    return named


def test_the_readme_layout_names_every_module_and_only_real_paths():
    named = readme_layout()
    assert sorted(str(p) for p in named if not (PACKAGE / p).exists()) == []
    modules = {
        p.relative_to(PACKAGE)
        for p in PACKAGE.rglob("*.py")
        if p.name not in SKIPPED and not p.parent.name.endswith("migrations") and p.parent.name != "versions"
    }
    assert sorted(str(p) for p in modules - named) == []


def test_operations_lists_the_migrations_of_both_tracks():
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| (\d{4}) \|", text, re.M))
    files = {p.name[:4] for p in (MIGRATIONS / "migrations" / "versions").glob("[0-9]*.py")}
    assert listed == files
    site_listed = set(re.findall(r"`(s\d{4})`", text))
    site_files = {p.name[:5] for p in (MIGRATIONS / "site_migrations" / "versions").glob("s[0-9]*.py")}
    assert site_listed == site_files


def test_configuration_names_every_setting_and_no_other():
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    first_cells = re.findall(r"^\| ([^|]*`ERPNEXT_MEDUSA_[^|]*)\|", text, re.M)
    documented = {name for cell in first_cells for name in re.findall(r"`(ERPNEXT_MEDUSA_[A-Z0-9_]+)`", cell)}
    fields = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    assert sorted(fields - documented) == []
    assert sorted(documented - fields - {f"{ENV_PREFIX}ALLOW_UNKNOWN_VARIABLES"}) == []


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return {slug(m) for m in re.findall(r"^#+ (.+)$", text, re.M)}


def test_relative_links_reach_their_files_and_headings():
    broken = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            reached = (page.parent / path).resolve() if path else page
            if not reached.exists() or (anchor and reached.suffix == ".md" and anchor not in anchors(reached)):
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert broken == []


def test_env_example_names_every_setting_and_no_other():
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    named = set(re.findall(r"^# (ERPNEXT_MEDUSA_[A-Z0-9_]+)=", text, re.M))
    fields = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    assert sorted(fields - named) == []
    assert sorted(named - fields) == []
