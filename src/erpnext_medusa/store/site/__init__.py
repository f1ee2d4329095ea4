"""The live-site adapter's connection to ERPNext: its REST client and the webhook signature."""

from erpnext_medusa.store.site.client import FrappeClient, SiteLogin
from erpnext_medusa.store.site.signature import sign, verify

__all__ = ["FrappeClient", "SiteLogin", "sign", "verify"]
