"""Bridge ERPNext customers and a Medusa storefront through Frappe-compatible endpoints."""

__version__ = "0.1.0"
