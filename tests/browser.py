"""Reading a report as a reader does: in headless Chromium (Debian's ``chromium``), images loaded, no overflow."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

#: Appended to a copy of the page: once everything has loaded, record what a reader would see go wrong.
PROBE = """
<script>
window.addEventListener('load', () => {
  const images = Array.from(document.images);
  const root = document.documentElement;
  const result = {
    images: images.length,
    broken: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src')),
    page_overflows: root.scrollWidth > root.clientWidth,
  };
  const out = document.createElement('pre');
  out.id = 'reader-check';
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
});
</script>
"""
#: The probe's flags: headless, no network, no profile of the machine's.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,900", "--virtual-time-budget=10000", "--dump-dom")


def read_in_browser(page: Path) -> dict:
    """{images, broken, page_overflows} of ``page`` as headless Chromium lays it out (skips without one)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    probe = page.with_name(page.stem + ".reader-check.html")   # beside the page: its relative links resolve
    probe.write_text(page.read_text() + PROBE)
    try:
        with tempfile.TemporaryDirectory() as profile:
            run = subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", probe.resolve().as_uri()],
                                 capture_output=True, text=True, timeout=120)
    finally:
        probe.unlink()
    dom = run.stdout
    if "<html" not in dom:   # the browser itself could not start here (not the page's fault)
        pytest.skip(f"chromium did not start: {run.stderr.strip()[-300:]}")
    found = re.search(r'<pre id="reader-check">(.*?)</pre>', dom, re.S)
    assert found, "the page never finished loading in the browser"
    return json.loads(found.group(1).replace("&quot;", '"'))
