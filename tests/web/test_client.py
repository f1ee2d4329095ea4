"""web/client.py: the client's address behind trusted proxies, and whether a request came over https, read from
the connection or from a trusted proxy."""

from __future__ import annotations

import ipaddress
from types import SimpleNamespace

import pytest
from starlette.requests import Request

from erpnext_medusa.web.client import client_address, over_https

PROXY = ipaddress.ip_network("10.0.0.0/8")
NETS = (PROXY, ipaddress.ip_network("::1/128"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("192.0.2.1", None, "192.0.2.1"),
        ("192.0.2.1", "198.51.100.1", "192.0.2.1"),  # not a trusted proxy: its header is ignored
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # the client's own entry on the left is ignored
        ("10.0.0.2", "198.51.100.1, 10.0.0.9", "198.51.100.1"),  # two trusted proxies in a row
        ("10.0.0.2", "10.0.0.7, 10.0.0.9", "10.0.0.7"),  # all trusted: the leftmost
        ("10.0.0.2", "garbage", "10.0.0.2"),  # not an address: the last hop we can vouch for
        ("10.0.0.2", "junk, 198.51.100.1", "198.51.100.1"),
        ("::1", "2001:db8::1", "2001:db8::1"),
        ("10.0.0.2", "", "10.0.0.2"),
        (None, None, "unknown"),
    ],
)
def test_client_address(peer, forwarded, expected):
    assert client_address(peer, forwarded, NETS) == expected


def _request(scheme: str, peer: str, proto: str | None) -> Request:
    headers = [(b"host", b"shop.example")] + ([(b"x-forwarded-proto", proto.encode())] if proto else [])
    settings = SimpleNamespace(trusted_networks=(PROXY,))
    app = SimpleNamespace(state=SimpleNamespace(services=SimpleNamespace(settings=settings)))
    scope = {"type": "http", "scheme": scheme, "path": "/", "query_string": b"", "headers": headers,
             "client": (peer, 4000), "server": ("shop.example", 443), "app": app}  # fmt: skip
    return Request(scope)


@pytest.mark.parametrize(
    ("scheme", "peer", "proto", "expected"),
    [
        ("https", "203.0.113.9", None, True),  # TLS ends at the service itself
        ("http", "203.0.113.9", None, False),
        ("http", "10.1.2.3", "https", True),  # a trusted proxy ended TLS
        ("http", "10.1.2.3", "HTTPS, http", True),  # the first hop's scheme counts
        ("http", "10.1.2.3", "http", False),
        ("http", "203.0.113.9", "https", False),  # anyone else's word is not taken
    ],
)
def test_over_https(scheme, peer, proto, expected):
    assert over_https(_request(scheme, peer, proto)) is expected
