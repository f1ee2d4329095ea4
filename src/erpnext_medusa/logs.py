"""Logging: every line carries the request id, and no line carries a secret or readable personal data.

Secrets (API secrets, storefront keys, JWTs, passwords) and contact data (e-mail addresses, phone numbers)
are scrubbed from every formatted line; query-string values (customer names, typeahead words) are masked.
The service's own messages never print names or address lines: they go through :func:`mask` first.

Scrubbing runs on the event loop for every line, and a client chooses much of what is logged (its request
path), so its cost is linear in the text, whatever the text:

* a pattern that reads a run of characters starts only where the run starts: a lookbehind refuses the
  positions inside it (an e-mail address, URL scheme, JWT or long number found from there would have been
  found from the run's start, and one that failed there fails the same way), so a long run is read a few
  times, not once per position in it;
* repeats are possessive (``*+``, ``++``, an atomic group), so a failed attempt does not retry shorter splits;
  the one backtracking repeat (a phone number's digits) follows a ``+`` it cannot contain, so it reads each
  character on behalf of one ``+`` only;
* a URL whose user part is not followed by ``password@`` is consumed by one match, so the search does not
  start again inside it; a query-string key is read from ``?`` or ``&`` up to the next ``?``, at most 64
  characters.

So each character is read a bounded number of times per pattern; the tests feed 64 KB of adversarial text
to each one, and check that on ordinary text they scrub exactly as the plain patterns would. Besides, a
line longer than :data:`MAX_LINE` is cut before the patterns see it. Registered secrets are removed first,
from the whole text, with ``str.replace`` (linear too).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

#: The id of the request being served (``-`` outside a request).
REQUEST_ID: ContextVar[str] = ContextVar("erpnext_medusa_request_id", default="-")
#: Facts about the request being served that are learnt while it runs (the user, once authenticated), for its
#: access line; one dict per request, filled in by whichever thread learns them.
REQUEST_FACTS: ContextVar[dict[str, str] | None] = ContextVar("erpnext_medusa_request_facts", default=None)
#: Fields a record may carry besides its message (access lines), in the order JSON lines show them.
FIELDS = ("method", "path", "status", "duration_ms", "client", "user")

#: Longest line scrubbed and logged; the rest of a longer line is dropped (and counted) before scrubbing.
MAX_LINE = 8192
#: A word cut by :data:`MAX_LINE` is dropped whole when less than this much of it would be kept (half an
#: e-mail address or key would no longer be recognised, and would be logged).
_CUT_WORD = 256

_B64 = "[A-Za-z0-9_-]"  # the alphabet of a JWT's three parts
_DOMAIN = r"[\w-]++(?:\.[\w-]++)++"


def _emails(match: re.Match[str]) -> str:
    # One match holds addresses written back to back ("a@b.example+c@d.example"): one marker each.
    return "<email>" * match.group().count("@")


def _url_password(match: re.Match[str]) -> str:
    # scheme://user:password@ loses its password; without "password@" the URL is left as it is.
    return match[1] + "***@" if match[2] and match[3] else match[0]


_PATTERNS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    # From the start of a base64url run: the run's text before its first "eyJ" is kept.
    (re.compile(rf"(?<!{_B64})(?>({_B64}*?)eyJ){_B64}*+\.{_B64}*+\.{_B64}*+"), r"\1<jwt>"),
    (re.compile(r"(?i)\b(token|basic|bearer)\s++\S++"), r"\1 ***"),
    (re.compile(r"(?i)(x-storefront-key['\"]?\s*+[:=]\s*+['\"]?)[^\s'\",]++"), r"\1***"),
    (re.compile(rf"(?<![\w.+-])[\w.+-]++@{_DOMAIN}(?:[.+][\w.+-]*+@{_DOMAIN})*+"), _emails),
    (re.compile(r"(?<![\w+])\+[0-9][0-9 ().-]{5,}[0-9]"), "<phone>"),
    (re.compile(r"(?<![\w.:-])[0-9]{9,}+(?![\w.:-])"), "<number>"),
    # Query-string values: customer names, typeahead words, keys sent where they should not be. The key is
    # read from the last "?" or "&" before "=" (a key may hold "?": the earlier part is kept as it is).
    (re.compile(r"([?&](?:[^=&?\s\"]{1,64}+|[^=&?\s\"]{0,63}+\?)=)[^&\s\"]++"), r"\1***"),
    # URLs with a password: scheme://user:password@host
    (re.compile(r"(?<!\w)(\w++://[^:/\s@]*+:)([^@\s]*+)(@?)"), _url_password),
]
_SECRETS: list[str] = []


def mask(value: object) -> str:
    """A value shown in a log line without revealing it: first character and length (``A…(11)``)."""
    if value is None:
        return "-"
    text = str(value)
    return f"{text[:1]}…({len(text)})" if text else "''"


def _scrub(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _head(line: str) -> str:
    """The first :data:`MAX_LINE` characters of a longer line, less a short word cut in two (and the space
    before it); a longer word is cut where the limit falls."""
    cut = MAX_LINE
    if not line[cut].isspace():
        for i in range(cut - 1, cut - _CUT_WORD - 1, -1):
            if line[i].isspace():
                cut = i
                break
    return line[:cut]


def redact(text: str) -> str:
    """``text`` without secrets or contact data. A line longer than :data:`MAX_LINE` keeps its beginning and
    says how many characters it lost."""
    for secret in _SECRETS:  # in the whole text, so that no cut leaves a piece of one
        text = text.replace(secret, "***")
    if len(text) <= MAX_LINE:
        return _scrub(text)
    chunks: list[str] = []
    lines: list[str] = []
    for line in text.split("\n"):
        if len(line) <= MAX_LINE:
            lines.append(line)
            continue
        head = _head(line)
        lines.append(head)
        dropped = len(line) - len(head)
        chunks.append(_scrub("\n".join(lines)) + f" …[{dropped} characters dropped]")
        lines = []
    if lines:
        chunks.append(_scrub("\n".join(lines)))
    return "\n".join(chunks)


def add_secrets(secrets: Iterable[str]) -> None:
    """Register values that must never appear in a log line (longest first, so no part of one survives)."""
    _SECRETS[:] = sorted({*_SECRETS, *(s for s in secrets if s)}, key=len, reverse=True)


class RedactFilter(logging.Filter):
    """Scrub the formatted message and any traceback; uvicorn's access lines keep their argument tuple
    (its formatter needs it) with the path scrubbed."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            args = list(record.args)
            args[2] = redact(str(args[2]))
            record.args = tuple(args)
        else:
            message = record.getMessage()
            clean = redact(message)
            if clean != message:
                record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, request id, message, the access fields a
    record carries, and the traceback if any. Every text in it is scrubbed as text lines are."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "request_id": getattr(record, "request_id", REQUEST_ID.get()),
            "message": redact(record.getMessage()),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = redact(value) if isinstance(value, str) else value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = redact(record.exc_text)
        return json.dumps(line, ensure_ascii=False)


def _protect_handlers() -> None:
    for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access", "erpnext_medusa"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactFilter) for f in handler.filters):
                handler.addFilter(RedactFilter())


def install(secrets: Iterable[str]) -> None:
    """Protect the handlers configured so far (an application started by any ASGI server)."""
    add_secrets(secrets)
    _protect_handlers()


def uvicorn_config(level: str, log_format: str = "text") -> dict[str, Any]:
    """The logging configuration ``erpnext-medusa serve`` gives uvicorn: request ids and scrubbing everywhere.
    In ``json`` format the service writes its own access lines (with the Frappe method, duration and user), so
    uvicorn's are off."""
    if log_format == "json":
        return {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {"redact": {"()": "erpnext_medusa.logs.RedactFilter"}},
            "formatters": {"json": {"()": "erpnext_medusa.logs.JsonFormatter"}},
            "handlers": {
                "json": {
                    "class": "logging.StreamHandler",
                    "formatter": "json",
                    "filters": ["redact"],
                    "stream": "ext://sys.stderr",
                }
            },
            "loggers": {
                "uvicorn": {"handlers": ["json"], "level": level.upper(), "propagate": False},
                "uvicorn.error": {"level": level.upper()},
                "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
                "erpnext_medusa": {"handlers": ["json"], "level": level.upper(), "propagate": False},
            },
        }
    line = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": "erpnext_medusa.logs.RedactFilter"}},
        "formatters": {
            "default": {"format": line},
            "access": {
                "()": "uvicorn.logging.AccessFormatter",
                "fmt": '%(asctime)s %(levelname)s [%(request_id)s] access: %(client_addr)s - "%(request_line)s" '
                "%(status_code)s",
                "use_colors": False,
            },
        },
        "handlers": {
            name: {
                "class": "logging.StreamHandler",
                "formatter": name,
                "filters": ["redact"],
                "stream": "ext://sys.stderr",
            }
            for name in ("default", "access")
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {"handlers": ["access"], "level": level.upper(), "propagate": False},
            "erpnext_medusa": {"handlers": ["default"], "level": level.upper(), "propagate": False},
        },
    }
