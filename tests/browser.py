"""A real headless Chromium for the page tests: Debian's ``chromium`` driven through Debian's
``chromium-driver`` by Selenium (nothing downloads a browser or a driver at run time).

Selenium is given ``/usr/bin/chromedriver`` explicitly and ``SE_OFFLINE=1`` is set, so
Selenium Manager never fetches anything. Without the browser the tests skip and say why;
``CASPR_REQUIRE_BROWSER=1`` (set by ``.ci/run``) turns that skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def unavailable() -> str | None:
    """Why the browser tests cannot run here, or None."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            return f"{path} is missing (Debian: apt-get install -y {package}; .ci/run installs it)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


def require_browser() -> None:
    """Skip (or, with ``CASPR_REQUIRE_BROWSER=1``, fail) when the browser is missing."""
    reason = unavailable()
    if reason is None:
        return
    if os.environ.get("CASPR_REQUIRE_BROWSER") == "1":
        pytest.fail(f"CASPR_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def chromium() -> Iterator[object]:
    """A headless Chromium (Selenium webdriver) with a fresh profile, closed afterwards."""
    require_browser()
    os.environ["SE_OFFLINE"] = "1"  # Selenium Manager: never download a browser or a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="caspr-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument("--window-size=1280,1000")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
