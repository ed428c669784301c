"""The report in a real browser: headless Chromium loads every figure without a console error.

Needs selenium (the ``test`` extra) and Chromium with its driver (Debian: ``apt-get install
chromium chromium-driver``); skipped with the reason otherwise. Selenium is given the driver's
path, so it never downloads one.
"""

from __future__ import annotations

import importlib.util
import shutil

import pytest
from PIL import Image, ImageStat

from deepshadows.report import collect_sections, write_report

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
WIDTH = 1280

IMAGES_JS = """
return Array.from(document.images).map(
    img => ({alt: img.alt, complete: img.complete, width: img.naturalWidth}));
"""


def _find_tools() -> tuple[str | None, str | None, str | None]:
    """Return the browser, the driver and, when one is missing, why the test is skipped."""
    if importlib.util.find_spec("selenium") is None:
        return None, None, "selenium is not installed (pip install 'deepshadows[test]')"
    binary = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    driver = shutil.which("chromedriver")
    missing = " and ".join(
        name for name, path in (("chromium", binary), ("chromedriver", driver)) if not path
    )
    reason = (
        f"{missing} not found on PATH (Debian: apt-get install chromium chromium-driver)" if missing else None
    )
    return binary, driver, reason


BINARY, DRIVER, MISSING = _find_tools()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = BINARY
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.add_argument(f"--window-size={WIDTH},900")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def load(browser, path) -> tuple[list[dict], list[dict]]:
    """Open a local page; return its images' load state and the SEVERE console entries."""
    browser.get_log("browser")  # drop entries of an earlier page
    browser.get(path.as_uri())
    assert browser.execute_script("return document.readyState") == "complete"
    images = browser.execute_script(IMAGES_JS)
    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    return images, severe


def test_report_renders_in_headless_chromium(browser, outputs, tmp_path):
    out = write_report([outputs], tmp_path / "report.html", title="Browser check")
    expected = sum(len(s.figures) for top in collect_sections([outputs]) for s in top.walk())

    images, severe = load(browser, out)

    assert browser.title == "Browser check"
    assert len(images) == expected > 20
    broken = [img["alt"] for img in images if not (img["complete"] and img["width"] > 0)]
    assert broken == []
    assert severe == []

    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(WIDTH, min(int(height), 6000))
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot))
    with Image.open(shot) as im:
        assert im.format == "PNG" and im.width >= WIDTH // 2 and im.height > 900
        grey = im.convert("L")
        assert grey.getextrema()[0] < 100 < grey.getextrema()[1]  # dark text on a light page
        assert ImageStat.Stat(grey).stddev[0] > 10
        colors = im.convert("RGB").getcolors(maxcolors=1 << 16)  # None: more than that many
        assert colors is None or len(colors) > 50


def test_the_checks_catch_a_broken_page(browser, tmp_path):
    """The two checks above can fail: a broken image and a blocked fetch are both seen."""
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
        'content="default-src \'none\'; img-src data:"><link rel="icon" href="data:,"></head>'
        '<body><img alt="bad" src="data:image/png;base64,iVBORw0KGgo="></body></html>'
    )
    images, severe = load(browser, page)
    assert images == [{"alt": "bad", "complete": True, "width": 0}]
    page.write_text(
        page.read_text().replace("data:image/png;base64,iVBORw0KGgo=", "https://example.invalid/a.png")
    )
    _, severe = load(browser, page)
    assert any("Content Security Policy" in entry["message"] for entry in severe)
