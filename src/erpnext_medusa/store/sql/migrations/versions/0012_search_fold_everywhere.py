"""Standalone PostgreSQL folds customer names as the service's search fold does, in the database.

``erpnext_medusa_fold(text)`` (an immutable SQL function) gives what ``fold()`` in domain/text.py gave when
this revision was written, for every string: compatibility decomposition (``normalize(.., NFKD)``), combining
marks and Arabic vowel marks and tatweel dropped (the code point ranges below, from Python's Unicode 14 data,
the same version PostgreSQL 15 decomposes and lower-cases with), ``lower()`` and then what Python's
``casefold()`` does beyond it (final sigma as sigma, Cherokee small letters as capitals, and the like; ``ß``
as ``ss``), the decomposition and marks again, and the Arabic letter variants and digits. The gram index and
the gram-range triggers are rebuilt on it; the ranges are emptied and filled again from every Customer in the
same transaction (one statement over the table; the GIN index is built once, blocking writes to
``tabCustomer`` while it builds).

MariaDB and SQLite are left as they are (SQLite folds in the service since 0011).

Names, tables and expressions below are this revision's own, frozen. The downgrade restores 0007's
``lower()`` index, triggers and ranges.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_CUSTOMER = "tabCustomer"
_RANGE = "erpnext_medusa_gram_range"
_GRAMS_INDEX = "customer_medusa_search_grams"
_UNLINKED = "(medusa_id IS NULL OR medusa_id = '') AND disabled = 0"
_FOLD = "erpnext_medusa_fold"

#: Code points dropped: Python's combining marks (a non-zero combining class) and U+0640, U+0670,
#: U+064B..U+065F.
_MARKS = (
    (0x0300, 0x034E),
    (0x0350, 0x036F),
    (0x0483, 0x0487),
    (0x0591, 0x05BD),
    (0x05BF, 0x05BF),
    (0x05C1, 0x05C2),
    (0x05C4, 0x05C5),
    (0x05C7, 0x05C7),
    (0x0610, 0x061A),
    (0x0640, 0x0640),
    (0x064B, 0x065F),
    (0x0670, 0x0670),
    (0x06D6, 0x06DC),
    (0x06DF, 0x06E4),
    (0x06E7, 0x06E8),
    (0x06EA, 0x06ED),
    (0x0711, 0x0711),
    (0x0730, 0x074A),
    (0x07EB, 0x07F3),
    (0x07FD, 0x07FD),
    (0x0816, 0x0819),
    (0x081B, 0x0823),
    (0x0825, 0x0827),
    (0x0829, 0x082D),
    (0x0859, 0x085B),
    (0x0898, 0x089F),
    (0x08CA, 0x08E1),
    (0x08E3, 0x08FF),
    (0x093C, 0x093C),
    (0x094D, 0x094D),
    (0x0951, 0x0954),
    (0x09BC, 0x09BC),
    (0x09CD, 0x09CD),
    (0x09FE, 0x09FE),
    (0x0A3C, 0x0A3C),
    (0x0A4D, 0x0A4D),
    (0x0ABC, 0x0ABC),
    (0x0ACD, 0x0ACD),
    (0x0B3C, 0x0B3C),
    (0x0B4D, 0x0B4D),
    (0x0BCD, 0x0BCD),
    (0x0C3C, 0x0C3C),
    (0x0C4D, 0x0C4D),
    (0x0C55, 0x0C56),
    (0x0CBC, 0x0CBC),
    (0x0CCD, 0x0CCD),
    (0x0D3B, 0x0D3C),
    (0x0D4D, 0x0D4D),
    (0x0DCA, 0x0DCA),
    (0x0E38, 0x0E3A),
    (0x0E48, 0x0E4B),
    (0x0EB8, 0x0EBA),
    (0x0EC8, 0x0ECB),
    (0x0F18, 0x0F19),
    (0x0F35, 0x0F35),
    (0x0F37, 0x0F37),
    (0x0F39, 0x0F39),
    (0x0F71, 0x0F72),
    (0x0F74, 0x0F74),
    (0x0F7A, 0x0F7D),
    (0x0F80, 0x0F80),
    (0x0F82, 0x0F84),
    (0x0F86, 0x0F87),
    (0x0FC6, 0x0FC6),
    (0x1037, 0x1037),
    (0x1039, 0x103A),
    (0x108D, 0x108D),
    (0x135D, 0x135F),
    (0x1714, 0x1715),
    (0x1734, 0x1734),
    (0x17D2, 0x17D2),
    (0x17DD, 0x17DD),
    (0x18A9, 0x18A9),
    (0x1939, 0x193B),
    (0x1A17, 0x1A18),
    (0x1A60, 0x1A60),
    (0x1A75, 0x1A7C),
    (0x1A7F, 0x1A7F),
    (0x1AB0, 0x1ABD),
    (0x1ABF, 0x1ACE),
    (0x1B34, 0x1B34),
    (0x1B44, 0x1B44),
    (0x1B6B, 0x1B73),
    (0x1BAA, 0x1BAB),
    (0x1BE6, 0x1BE6),
    (0x1BF2, 0x1BF3),
    (0x1C37, 0x1C37),
    (0x1CD0, 0x1CD2),
    (0x1CD4, 0x1CE0),
    (0x1CE2, 0x1CE8),
    (0x1CED, 0x1CED),
    (0x1CF4, 0x1CF4),
    (0x1CF8, 0x1CF9),
    (0x1DC0, 0x1DFF),
    (0x20D0, 0x20DC),
    (0x20E1, 0x20E1),
    (0x20E5, 0x20F0),
    (0x2CEF, 0x2CF1),
    (0x2D7F, 0x2D7F),
    (0x2DE0, 0x2DFF),
    (0x302A, 0x302F),
    (0x3099, 0x309A),
    (0xA66F, 0xA66F),
    (0xA674, 0xA67D),
    (0xA69E, 0xA69F),
    (0xA6F0, 0xA6F1),
    (0xA806, 0xA806),
    (0xA82C, 0xA82C),
    (0xA8C4, 0xA8C4),
    (0xA8E0, 0xA8F1),
    (0xA92B, 0xA92D),
    (0xA953, 0xA953),
    (0xA9B3, 0xA9B3),
    (0xA9C0, 0xA9C0),
    (0xAAB0, 0xAAB0),
    (0xAAB2, 0xAAB4),
    (0xAAB7, 0xAAB8),
    (0xAABE, 0xAABF),
    (0xAAC1, 0xAAC1),
    (0xAAF6, 0xAAF6),
    (0xABED, 0xABED),
    (0xFB1E, 0xFB1E),
    (0xFE20, 0xFE2F),
    (0x101FD, 0x101FD),
    (0x102E0, 0x102E0),
    (0x10376, 0x1037A),
    (0x10A0D, 0x10A0D),
    (0x10A0F, 0x10A0F),
    (0x10A38, 0x10A3A),
    (0x10A3F, 0x10A3F),
    (0x10AE5, 0x10AE6),
    (0x10D24, 0x10D27),
    (0x10EAB, 0x10EAC),
    (0x10F46, 0x10F50),
    (0x10F82, 0x10F85),
    (0x11046, 0x11046),
    (0x11070, 0x11070),
    (0x1107F, 0x1107F),
    (0x110B9, 0x110BA),
    (0x11100, 0x11102),
    (0x11133, 0x11134),
    (0x11173, 0x11173),
    (0x111C0, 0x111C0),
    (0x111CA, 0x111CA),
    (0x11235, 0x11236),
    (0x112E9, 0x112EA),
    (0x1133B, 0x1133C),
    (0x1134D, 0x1134D),
    (0x11366, 0x1136C),
    (0x11370, 0x11374),
    (0x11442, 0x11442),
    (0x11446, 0x11446),
    (0x1145E, 0x1145E),
    (0x114C2, 0x114C3),
    (0x115BF, 0x115C0),
    (0x1163F, 0x1163F),
    (0x116B6, 0x116B7),
    (0x1172B, 0x1172B),
    (0x11839, 0x1183A),
    (0x1193D, 0x1193E),
    (0x11943, 0x11943),
    (0x119E0, 0x119E0),
    (0x11A34, 0x11A34),
    (0x11A47, 0x11A47),
    (0x11A99, 0x11A99),
    (0x11C3F, 0x11C3F),
    (0x11D42, 0x11D42),
    (0x11D44, 0x11D45),
    (0x11D97, 0x11D97),
    (0x16AF0, 0x16AF4),
    (0x16B30, 0x16B36),
    (0x16FF0, 0x16FF1),
    (0x1BC9E, 0x1BC9E),
    (0x1D165, 0x1D169),
    (0x1D16D, 0x1D172),
    (0x1D17B, 0x1D182),
    (0x1D185, 0x1D18B),
    (0x1D1AA, 0x1D1AD),
    (0x1D242, 0x1D244),
    (0x1E000, 0x1E006),
    (0x1E008, 0x1E018),
    (0x1E01B, 0x1E021),
    (0x1E023, 0x1E024),
    (0x1E026, 0x1E02A),
    (0x1E130, 0x1E136),
    (0x1E2AE, 0x1E2AE),
    (0x1E2EC, 0x1E2EF),
    (0x1E8D0, 0x1E8D6),
    (0x1E944, 0x1E94A),
)
#: After lower(): what Python's casefold() gives instead (one character each).
_CASEFOLD = {
    0x03C2: 0x03C3,
    0xAB70: 0x13A0,
    0xAB71: 0x13A1,
    0xAB72: 0x13A2,
    0xAB73: 0x13A3,
    0xAB74: 0x13A4,
    0xAB75: 0x13A5,
    0xAB76: 0x13A6,
    0xAB77: 0x13A7,
    0xAB78: 0x13A8,
    0xAB79: 0x13A9,
    0xAB7A: 0x13AA,
    0xAB7B: 0x13AB,
    0xAB7C: 0x13AC,
    0xAB7D: 0x13AD,
    0xAB7E: 0x13AE,
    0xAB7F: 0x13AF,
    0xAB80: 0x13B0,
    0xAB81: 0x13B1,
    0xAB82: 0x13B2,
    0xAB83: 0x13B3,
    0xAB84: 0x13B4,
    0xAB85: 0x13B5,
    0xAB86: 0x13B6,
    0xAB87: 0x13B7,
    0xAB88: 0x13B8,
    0xAB89: 0x13B9,
    0xAB8A: 0x13BA,
    0xAB8B: 0x13BB,
    0xAB8C: 0x13BC,
    0xAB8D: 0x13BD,
    0xAB8E: 0x13BE,
    0xAB8F: 0x13BF,
    0xAB90: 0x13C0,
    0xAB91: 0x13C1,
    0xAB92: 0x13C2,
    0xAB93: 0x13C3,
    0xAB94: 0x13C4,
    0xAB95: 0x13C5,
    0xAB96: 0x13C6,
    0xAB97: 0x13C7,
    0xAB98: 0x13C8,
    0xAB99: 0x13C9,
    0xAB9A: 0x13CA,
    0xAB9B: 0x13CB,
    0xAB9C: 0x13CC,
    0xAB9D: 0x13CD,
    0xAB9E: 0x13CE,
    0xAB9F: 0x13CF,
    0xABA0: 0x13D0,
    0xABA1: 0x13D1,
    0xABA2: 0x13D2,
    0xABA3: 0x13D3,
    0xABA4: 0x13D4,
    0xABA5: 0x13D5,
    0xABA6: 0x13D6,
    0xABA7: 0x13D7,
    0xABA8: 0x13D8,
    0xABA9: 0x13D9,
    0xABAA: 0x13DA,
    0xABAB: 0x13DB,
    0xABAC: 0x13DC,
    0xABAD: 0x13DD,
    0xABAE: 0x13DE,
    0xABAF: 0x13DF,
    0xABB0: 0x13E0,
    0xABB1: 0x13E1,
    0xABB2: 0x13E2,
    0xABB3: 0x13E3,
    0xABB4: 0x13E4,
    0xABB5: 0x13E5,
    0xABB6: 0x13E6,
    0xABB7: 0x13E7,
    0xABB8: 0x13E8,
    0xABB9: 0x13E9,
    0xABBA: 0x13EA,
    0xABBB: 0x13EB,
    0xABBC: 0x13EC,
    0xABBD: 0x13ED,
    0xABBE: 0x13EE,
    0xABBF: 0x13EF,
    0x13F8: 0x13F0,
    0x13F9: 0x13F1,
    0x13FA: 0x13F2,
    0x13FB: 0x13F3,
    0x13FC: 0x13F4,
    0x13FD: 0x13F5,
    0x1C80: 0x0432,
    0x1C81: 0x0434,
    0x1C82: 0x043E,
    0x1C83: 0x0441,
    0x1C84: 0x0442,
    0x1C85: 0x0442,
    0x1C86: 0x044A,
    0x1C87: 0x0463,
    0x1C88: 0xA64B,
}
#: Arabic letter variants and Arabic-Indic and Persian digits.
_SPELLINGS = (
    {0x0671: 0x0627, 0x0629: 0x0647, 0x0649: 0x064A}
    | {0x0660 + d: 0x30 + d for d in range(10)}
    | {0x06F0 + d: 0x30 + d for d in range(10)}
)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _fold_function() -> str:
    marks = _literal("[" + "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in _MARKS) + "]")

    def unmarked(expression: str) -> str:
        return f"regexp_replace(normalize({expression}, NFKD), {marks}, '', 'g')"

    cased = (
        f"replace(translate(lower({unmarked('value')}), {_literal(''.join(map(chr, _CASEFOLD)))}, "
        f"{_literal(''.join(map(chr, _CASEFOLD.values())))}), 'ß', 'ss')"
    )
    spelled = (
        f"translate({unmarked(cased)}, {_literal(''.join(map(chr, _SPELLINGS)))}, "
        f"{_literal(''.join(map(chr, _SPELLINGS.values())))})"
    )
    return (
        f"CREATE OR REPLACE FUNCTION {_FOLD}(value text) RETURNS text "
        # ASCII text (each character one byte) folds as lower() folds it, at lower()'s cost.
        f"LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE RETURN CASE WHEN octet_length(value) = length(value) "
        f"THEN lower(value) ELSE {spelled} END"
    )


def _widen(names: str, folded: str) -> str:
    """0007's range upsert, the names folded by ``folded``."""
    return f"""
    INSERT INTO {_RANGE} AS r (gram, first_name, last_name)
    SELECT k.gram, min(k.customer_name), max(k.customer_name)
    FROM (
        SELECT unnest(erpnext_medusa_grams({folded}(w.customer_name))) AS gram, w.customer_name
        FROM {names} WHERE w.customer_name <> ''
    ) k
    GROUP BY k.gram
    HAVING NOT EXISTS (
        SELECT 1 FROM {_RANGE} e
        WHERE e.gram = k.gram AND e.first_name <= min(k.customer_name) AND e.last_name >= max(k.customer_name)
    )
    ORDER BY k.gram
    ON CONFLICT (gram) DO UPDATE
        SET first_name = least(r.first_name, excluded.first_name),
            last_name = greatest(r.last_name, excluded.last_name)"""


def _rebuild(folded: str) -> None:
    """The gram index, the range triggers' functions and the ranges, on names folded by ``folded``."""
    functions = {
        "erpnext_medusa_gram_ranges_inserted": _widen("written AS w", folded),
        "erpnext_medusa_gram_ranges_renamed": _widen("(SELECT NEW.customer_name AS customer_name) AS w", folded),
    }
    for function, body in functions.items():
        op.execute(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql "
            f"SECURITY DEFINER SET search_path FROM CURRENT AS $$ BEGIN {body}; RETURN NULL; END $$"
        )
    op.execute(f'DROP INDEX IF EXISTS "{_GRAMS_INDEX}"')
    op.execute(
        f'CREATE INDEX "{_GRAMS_INDEX}" ON "{_CUSTOMER}" '
        f"USING gin (erpnext_medusa_grams({folded}(customer_name))) WHERE {_UNLINKED}"
    )
    op.execute(f"DELETE FROM {_RANGE}")
    op.execute(
        f"INSERT INTO {_RANGE} (gram, first_name, last_name) "
        "SELECT g, min(customer_name), max(customer_name) "
        f'FROM "{_CUSTOMER}", unnest(erpnext_medusa_grams({folded}(customer_name))) AS g '
        "WHERE customer_name <> '' GROUP BY g"
    )


def _is_standalone_postgresql() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    return bool(bind.exec_driver_sql(f"SELECT to_regclass('{_RANGE}') IS NOT NULL").scalar())


def upgrade() -> None:
    if _is_standalone_postgresql():
        op.execute(_fold_function())
        _rebuild(_FOLD)


def downgrade() -> None:
    if _is_standalone_postgresql():
        _rebuild("lower")
        op.execute(f"DROP FUNCTION IF EXISTS {_FOLD}(text)")
