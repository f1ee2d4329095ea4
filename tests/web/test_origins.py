"""web/origins.py: the allowed origins setting, where a browser's request comes from (Sec-Fetch-Site, else
Origin, else Referer), and the name in a Host header. The middleware that acts on them is tested in
test_middleware.py."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from erpnext_medusa.web.origins import Origins, Provenance, host_name, provenance

SAME, FOREIGN, UNKNOWN = Provenance.SAME, Provenance.FOREIGN, Provenance.UNKNOWN
ALLOWED = Origins("https://shop.example")


def test_the_allowed_origins_setting_is_a_list_with_optional_trailing_slashes():
    origins = Origins(" https://a.example/ , https://b.example,, ")
    assert origins.allows("https://a.example") and origins.allows("https://b.example")
    assert not origins.allows("https://c.example") and not origins.allows(None) and not origins.allows("")
    assert not Origins("").allows("https://a.example")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, UNKNOWN),  # a server or curl: none of the headers
        ({"sec-fetch-site": "same-origin"}, SAME),
        ({"sec-fetch-site": "none"}, UNKNOWN),  # the address bar, a bookmark
        ({"sec-fetch-site": "cross-site"}, FOREIGN),
        ({"sec-fetch-site": "same-site", "origin": "https://api.example:8443"}, FOREIGN),  # another port: not ours
        ({"sec-fetch-site": "cross-site", "origin": "https://shop.example"}, SAME),  # an allowed origin
        ({"sec-fetch-site": "cross-site", "referer": "https://shop.example/cart"}, SAME),  # its navigation
        ({"sec-fetch-site": "cross-site", "origin": "https://evil.example"}, FOREIGN),
        ({"origin": "https://api.example"}, SAME),  # the service's own Host
        ({"origin": "https://API.example"}, SAME),  # host names compare without case
        ({"origin": "https://shop.example"}, SAME),
        ({"origin": "https://evil.example"}, FOREIGN),
        ({"origin": "null"}, FOREIGN),  # a sandboxed frame or a file
        ({"origin": "https://evil.example", "referer": "https://api.example/admin"}, FOREIGN),  # Origin first
        ({"referer": "https://api.example/admin"}, SAME),
        ({"referer": "https://user@api.example/admin"}, SAME),  # credentials are not part of the host
        ({"referer": "https://evil.example/page"}, FOREIGN),
        ({"referer": "not a url"}, FOREIGN),
    ],
)
def test_where_a_request_comes_from(headers, expected):
    assert provenance(Headers({"host": "api.example", **headers}), ALLOWED) is expected


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("api.example", "api.example"),
        ("API.Example:8000", "api.example"),
        ("api.example.", "api.example"),  # the root's dot
        ("[::1]:8000", "[::1]"),
        ("[::1", None),
        (":8000", None),
        ("", None),
        (None, None),
    ],
)
def test_the_name_in_a_host_header(header, name):
    assert host_name(header) == name
