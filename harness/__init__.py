"""The one way the browser tests and the server benchmark start the dashboard and drive it.

`harness.server` runs `streamlit run dashboard/app.py` on a free loopback port
and stops it; `harness.browser` launches Debian's Chromium (never a downloaded
browser), keeps every request on loopback, and waits for Streamlit's own "the
script has run" signal. The tests (sync Playwright) and benchmarks/server_load.py
(async Playwright) share these, so a fix to how the app is started or awaited
is made once.
"""
