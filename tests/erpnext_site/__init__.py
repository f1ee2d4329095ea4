"""A test double of an ERPNext v15 site's REST API, whose answers follow Frappe v15's source.

    site = Site()                                   # Administrator, the Countries
    user = site.add_user("api@shop.test", roles=["Sales User"])
    client = FrappeClient("http://site.test", user.api_key, user.api_secret, transport=transport(site))
    with serve(site) as url: ...                    # the same over a real socket

See site.py for setting documents, users, faults and webhooks up, and wire_facts.py for the literals the
contract tests pin the double to.
"""

from typing import Any

from tests.erpnext_site.http import asgi, serve, transport
from tests.erpnext_site.site import Delivery, Logged, Site, User

__all__ = ["Delivery", "Logged", "Site", "User", "address", "asgi", "serve", "transport"]


def address(title: str = "ACME", **fields: Any) -> dict[str, Any]:
    """An Address the double's (and ERPNext's) mandatory fields are satisfied by, with ``fields`` over them."""
    return {"address_title": title, "address_line1": "1 Main St", "city": "Berlin", "country": "Germany", **fields}
