"""Where a browser's request comes from, and which Host names the service answers for.

A browser tells the server which page made a request: ``Sec-Fetch-Site`` (every current browser), else
``Origin`` (unsafe requests and fetches), else ``Referer`` (unless the page turned it off). A page cannot forge
them. :func:`provenance` reads them in that order:

- ``SAME``: the service's own origin, or an origin listed in ``ERPNEXT_MEDUSA_ALLOW_CORS``;
- ``FOREIGN``: any other site (``cross-site``, and ``same-site`` too: a sibling host or another port of this
  one may be someone else's);
- ``UNKNOWN``: nothing says (servers and curl send none of the headers; so do old browsers whose page hid its
  Referer, and the address bar: ``Sec-Fetch-Site: none``).

The scheme is not compared with the service's own, since a TLS proxy may stand in front.
"""

from __future__ import annotations

from enum import Enum
from urllib.parse import urlsplit

from starlette.datastructures import Headers


class Provenance(Enum):
    SAME = "same"
    FOREIGN = "foreign"
    UNKNOWN = "unknown"


class Origins:
    """``ERPNEXT_MEDUSA_ALLOW_CORS``: ``*`` or a comma-separated list of origins (empty: none)."""

    def __init__(self, setting: str) -> None:
        entries = {entry.strip().rstrip("/") for entry in setting.split(",") if entry.strip()}
        self.any = "*" in entries
        self.listed = frozenset(entries - {"*"})

    def allows(self, origin: str | None) -> bool:
        return bool(origin) and (self.any or origin in self.listed)


def _origin_of(url: str) -> tuple[str, str] | None:
    """``(scheme://host[:port], host[:port])`` of a URL; None when it has no host."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    netloc = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{netloc}", netloc


def _judge(url: str, host: str | None, origins: Origins) -> Provenance:
    found = _origin_of(url)
    if found is None:
        return Provenance.FOREIGN  # "null" (a sandboxed frame, a file) or garbage: not a page of ours
    origin, netloc = found
    if (host is not None and netloc.lower() == host.lower()) or origins.allows(origin):
        return Provenance.SAME
    return Provenance.FOREIGN


def provenance(headers: Headers, origins: Origins) -> Provenance:
    host = headers.get("host")
    site = headers.get("sec-fetch-site")
    origin = headers.get("origin")
    if site is not None:
        if site == "same-origin":
            return Provenance.SAME
        if site == "none":
            return Provenance.UNKNOWN
        # Another site: allowed only as a listed origin (its Origin, or for a navigation its page's address).
        page = origin or headers.get("referer")
        return _judge(page, None, origins) if page else Provenance.FOREIGN
    if origin is not None:
        return _judge(origin, host, origins)
    referer = headers.get("referer")
    if referer:
        return _judge(referer, host, origins)
    return Provenance.UNKNOWN


def host_name(header: str | None) -> str | None:
    """The name in a Host header, lower case, without its port (an IPv6 address keeps its brackets)."""
    if not header:
        return None
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1] if end > 0 else None
    return value.partition(":")[0].rstrip(".") or None
