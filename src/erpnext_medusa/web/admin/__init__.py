"""The admin pages (server-rendered HTML) over the same sessions and domain operations as the API."""
