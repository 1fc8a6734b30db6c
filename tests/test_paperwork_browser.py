"""The printable certification of origin in a real browser (Debian's chromium through Selenium,
as tests/test_service_browser.py): the page made by `origin-rules certify --format html` for
the example BOM is opened from disk, its Annex 5-A elements read from the DOM, and the page
printed to PDF by the browser (it fits one sheet). ``UPDATE_SCREENSHOTS=1`` writes the
screenshot of docs/certify.md (docs/assets/certify-page.png); otherwise it goes to a temporary
folder and is checked there.

Under CI=true a missing browser fails the test; elsewhere it is skipped saying so.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from origin_rules.cli import app

ROOT = Path(__file__).resolve().parent.parent
PAPERWORK = ROOT / "examples" / "paperwork"
ASSETS = ROOT / "docs" / "assets"
PNG = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.slow


@pytest.fixture
def driver(tmp_path):
    chromium = next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None)
    chromedriver = shutil.which("chromedriver")
    if not (chromium and chromedriver):
        if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
            pytest.fail("no chromium and chromedriver under CI: `make browser` installs Debian's chromium and chromium-driver")
        pytest.skip("no chromium/chromedriver found (Debian: apt-get install -y chromium chromium-driver; `make test` does)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=900,1300",
                 "--no-first-run", "--disable-background-networking", "--hide-scrollbars",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    browser = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    browser.set_page_load_timeout(60)
    try:
        yield browser
    finally:
        browser.quit()


def test_the_printable_certification_in_a_real_browser(driver, tmp_path, monkeypatch):
    from selenium.webdriver.common.by import By

    monkeypatch.chdir(ROOT)  # rule sources shown relative, as a user in the repository sees them

    page = tmp_path / "BRK-200.html"
    result = CliRunner().invoke(app, [
        "certify", str(PAPERWORK / "certified-brake.yaml"), "--rules", "rules",
        "--profile", str(PAPERWORK / "profile.yaml"), "--as-of", "2026-06-01", "--signed", "2026-06-01",
        "--format", "html", "--out", str(page)])
    assert result.exit_code == 0, result.output
    driver.get(page.as_uri())
    rows = {th.text.split("\n")[0]: td.text for th, td in
            ((r.find_element(By.TAG_NAME, "th"), r.find_element(By.TAG_NAME, "td"))
             for r in driver.find_elements(By.CSS_SELECTOR, "table.form tr"))}
    assert rows["Origin criterion"].startswith("B") and "Annex 4-B" in rows["Origin criterion"]
    assert rows["Blanket period"] == "From 2026-01-01 to 2026-12-31"
    assert "HS 8708.30" in rows["Description and HS tariff classification of the good"]
    assert "Great Lakes Auto Parts LLC" in rows["Importer"] and rows["Importer, exporter or producer certification of origin"] == "Producer"
    assert rows["Authorized signature and date"].startswith("I certify that: The goods described in this document")
    assert "Date: 2026-06-01" in rows["Authorized signature and date"]
    basis = driver.find_element(By.CSS_SELECTOR, "section.basis").text
    assert "SUP-2026-17" in basis and "rules/usmca/section-17-transport.roo:919" in basis
    assert rows["Exporter"] == rows["Producer"] == "Same as certifier"
    shot = (ASSETS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path) / "certify-page.png"
    driver.save_screenshot(str(shot))
    assert shot.read_bytes().startswith(PNG)
    # printed by the browser: one A4 sheet
    pdf = base64.b64decode(driver.execute_cdp_cmd("Page.printToPDF", {"paperWidth": 8.27, "paperHeight": 11.69, "preferCSSPageSize": True})["data"])
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    (tmp_path / "BRK-200.pdf").write_bytes(pdf)
