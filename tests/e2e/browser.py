"""Debian's Chromium as the browser tests drive it through Playwright: headless, and quiet (no updates, no
sync, nothing fetched in the background that could blur what a test measures)."""

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
