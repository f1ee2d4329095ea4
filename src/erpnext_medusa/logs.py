"""Logging: every line carries the request id, and no line carries a secret or readable personal data.

Secrets (API secrets, storefront keys, JWTs, passwords) and contact data (e-mail addresses, phone numbers)
are scrubbed from every formatted line; query-string values (customer names, typeahead words) are masked.
The service's own messages never print names or address lines: they go through :func:`mask` first.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

#: The id of the request being served (``-`` outside a request).
REQUEST_ID: ContextVar[str] = ContextVar("erpnext_medusa_request_id", default="-")

_PATTERNS = [
    (re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*"), "<jwt>"),
    (re.compile(r"(?i)\b(token|basic|bearer)\s+\S+"), r"\1 ***"),
    (re.compile(r"(?i)(x-storefront-key['\"]?\s*[:=]\s*['\"]?)[^\s'\",]+"), r"\1***"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "<email>"),
    (re.compile(r"(?<![\w+])\+[0-9][0-9 ().-]{5,}[0-9]"), "<phone>"),
    (re.compile(r"(?<![\w.:-])[0-9]{9,}(?![\w.:-])"), "<number>"),
    # Query-string values: customer names, typeahead words, keys sent where they should not be.
    (re.compile(r"([?&][^=&\s\"]{1,64}=)[^&\s\"]+"), r"\1***"),
    # URLs with a password: scheme://user:password@host
    (re.compile(r"(\w+://[^:/\s@]*:)[^@\s]+@"), r"\1***@"),
]
_SECRETS: list[str] = []


def mask(value: object) -> str:
    """A value shown in a log line without revealing it: first character and length (``A…(11)``)."""
    if value is None:
        return "-"
    text = str(value)
    return f"{text[:1]}…({len(text)})" if text else "''"


def redact(text: str) -> str:
    for secret in _SECRETS:
        text = text.replace(secret, "***")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def add_secrets(secrets: Iterable[str]) -> None:
    """Register values that must never appear in a log line (longest first, so no part of one survives)."""
    _SECRETS[:] = sorted({*_SECRETS, *(s for s in secrets if s)}, key=len, reverse=True)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


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


def _protect_handlers() -> None:
    for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access", "erpnext_medusa"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactFilter) for f in handler.filters):
                handler.addFilter(RedactFilter())


def install(secrets: Iterable[str]) -> None:
    """Protect the handlers configured so far (an application started by any ASGI server)."""
    add_secrets(secrets)
    _protect_handlers()


def uvicorn_config(level: str) -> dict[str, Any]:
    """The logging configuration ``erpnext-medusa serve`` gives uvicorn: request ids and scrubbing everywhere."""
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
