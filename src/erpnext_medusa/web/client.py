"""Who a request comes from, in one place for every route: the client's address (the connection's peer, or,
when the peer is a trusted proxy, the address that proxy reported in ``X-Forwarded-For``), whether it came
over https, and the :class:`Origin` a write is stamped with (that address and the request's ids).

``X-Forwarded-For`` is read from the right: each proxy appends the address it received the request from, so
the entries a trusted proxy wrote are the rightmost ones. The first address from the right that is not a
trusted proxy is the client; anything to its left was sent by the client itself and is ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.requests import HTTPConnection

from erpnext_medusa.domain.models import Origin
from erpnext_medusa.logs import REQUEST_ID
from erpnext_medusa.web.middleware import CLIENT_REQUEST_ID

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Longest client label we keep (an IPv6 address is at most 45 characters).
_MAX_LABEL = 64


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None, proxies: Sequence[Network]) -> bool:
    return address is not None and any(address in network for network in proxies)


def client_address(peer: str | None, forwarded_for: str | None, proxies: Sequence[Network]) -> str:
    """The address requests are counted and audited under."""
    peer = (peer or "unknown")[:_MAX_LABEL]
    if not forwarded_for or not _trusted(_ip(peer), proxies):
        return peer
    client = peer
    for entry in reversed(forwarded_for.split(",")):
        address = _ip(entry)
        if address is None:  # not written by a proxy of ours: stop at the last hop we can vouch for
            return client
        client = str(address)
        if not _trusted(address, proxies):
            return client
    return client  # every hop was a trusted proxy: the leftmost is as close to the client as we know


def is_https(scheme: str, peer: str | None, forwarded_proto: str | None, proxies: Sequence[Network]) -> bool:
    """Whether the client reached us over https: directly, or as a trusted proxy says in X-Forwarded-Proto."""
    if scheme == "https":
        return True
    if not forwarded_proto or not _trusted(_ip(peer or ""), proxies):
        return False
    return forwarded_proto.split(",")[0].strip().lower() == "https"


def _peer(request: HTTPConnection) -> str | None:
    return request.client.host if request.client else None


def _proxies(request: HTTPConnection) -> Sequence[Network]:
    """``ERPNEXT_MEDUSA_TRUSTED_PROXIES`` of the application serving ``request``."""
    networks: Sequence[Network] = request.app.state.services.settings.trusted_networks
    return networks


def client_of(request: HTTPConnection) -> str:
    """The address a request is counted and audited under."""
    return client_address(_peer(request), request.headers.get("x-forwarded-for"), _proxies(request))


def over_https(request: HTTPConnection) -> bool:
    """Whether the request reached us over https (its cookies are then ``Secure``)."""
    scheme = request.scope.get("scheme", "http")  # not request.url: building the whole URL costs more than the rest
    return is_https(scheme, _peer(request), request.headers.get("x-forwarded-proto"), _proxies(request))


def write_origin(client: str, *, storefront_key: str | None = None, medusa_actor: str | None = None) -> Origin:
    """Where a write of the current request comes from: the client's address (:func:`client_of`), what a guest
    presented, and the request's ids (the server's, and the sane one the client sent)."""
    return Origin(
        client=client,
        storefront_key=storefront_key,
        medusa_actor=medusa_actor,
        request_id=REQUEST_ID.get(),
        client_request_id=CLIENT_REQUEST_ID.get(),
    )
