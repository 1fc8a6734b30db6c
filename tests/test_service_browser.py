"""The analyst's page in a real browser: `origin-rules serve --insecure-local` started with
no other configuration (the rules/ of its folder, the audit store in the user's data
directory, here a temporary XDG_DATA_HOME) on a free loopback port, driven by Selenium
through Debian's chromium and chromedriver. An example BOM is pasted, USMCA and a date
picked, and the verdict and the explanation tree are read from the DOM; then a batch file
is uploaded and the progress bar reaches the links to the results and the HTML report.

Under CI=true a missing browser fails the test (`make test` installs it); elsewhere it is
skipped saying so. ``UPDATE_SCREENSHOTS=1`` writes the two screenshots of docs/service.md
(docs/assets/service-*.png); otherwise they go to a temporary folder and are checked there.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow  # end to end (registered in pyproject.toml): run first by tests/conftest.py

ROOT = Path(__file__).resolve().parent.parent
BRAKE = ROOT / "examples" / "boms" / "brake-assembly.yaml"
ASSETS = ROOT / "docs" / "assets"
PNG = b"\x89PNG\r\n\x1a\n"


def _browser() -> tuple[str, str] | None:
    chromium = next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None)
    driver = shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """`origin-rules serve --insecure-local --port P` run from the repository (its rules/),
    the audit store in the default place under a temporary XDG_DATA_HOME."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_DATA_HOME": str(tmp_path / "data")}
    env.pop("ORIGIN_RULES_DB", None)
    process = subprocess.Popen([sys.executable, "-c", "from origin_rules.cli import main; main()", "serve",
                                "--insecure-local", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            if process.poll() is not None:
                raise AssertionError(f"serve exited: {process.stdout.read()}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not come up in 60 s"
            time.sleep(0.2)
        yield base, tmp_path / "data" / "origin-rules" / "audit.sqlite3"
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def driver(tmp_path):
    found = _browser()
    if found is None:
        if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
            pytest.fail("no chromium and chromedriver under CI: `make browser` installs Debian's chromium and chromium-driver")
        pytest.skip("no chromium/chromedriver found (Debian: apt-get install -y chromium chromium-driver; `make test` does)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1400",
                 "--no-first-run", "--disable-background-networking", "--hide-scrollbars",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    browser = webdriver.Chrome(options=options, service=Service(executable_path=found[1]))
    browser.set_page_load_timeout(60)
    try:
        yield browser
    finally:
        browser.quit()


def _shots(tmp_path: Path) -> Path:
    return ASSETS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path


def _wait(browser, condition, timeout: float = 60.0):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout, poll_frequency=0.1).until(condition)


def test_the_page_evaluates_a_pasted_bom_in_a_real_browser(server, driver, tmp_path):
    from selenium.webdriver.common.by import By

    base, store = server
    driver.get(base + "/")
    assert driver.title == "Evaluate · origin-rules"
    textarea = driver.find_element(By.ID, "bom")
    # paste: the whole file into the text area at once, as a paste does (typing it would
    # take minutes), then one keystroke so the page sees input as from a person
    driver.execute_script("arguments[0].value = arguments[1];", textarea, BRAKE.read_text(encoding="utf-8"))
    textarea.send_keys(" ")
    driver.find_element(By.CSS_SELECTOR, "input[name=under][value='USMCA']").click()
    date = driver.find_element(By.NAME, "as_of")
    driver.execute_script("arguments[0].value = '2026-07-01';", date)
    driver.find_element(By.CSS_SELECTOR, "#evaluate button[type=submit]").click()
    _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "section.determination"))
    (section,) = driver.find_elements(By.CSS_SELECTOR, "section.determination")
    heading = section.find_element(By.TAG_NAME, "h2").text
    assert heading == "BRK-100 (8708.30) under USMCA, as of 2026-07-01: qualifies"
    assert section.find_element(By.CSS_SELECTOR, ".verdict").text == "qualifies"
    # the explanation: a tree of <details>, each step with its source line
    steps = section.find_elements(By.CSS_SELECTOR, "details")
    assert len(steps) >= 2
    summaries = [s.find_element(By.TAG_NAME, "summary").get_attribute("textContent") for s in steps]
    assert summaries[0].startswith("✓ BRK-100 (8708.30) under USMCA as of 2026-07-01")
    assert any("rules/usmca/" in s and ".roo:" in s for s in summaries), summaries
    figures = {row.find_elements(By.TAG_NAME, "td")[0].text: row.find_elements(By.TAG_NAME, "td")[1].text
               for row in section.find_elements(By.XPATH, ".//h3[.='Figures']/following-sibling::table[1]//tr")}
    assert figures["rvc_net_cost"] == "82.35"  # (850 - 150) / 850
    # collapsible: the root (a step that holds) starts folded, its steps hidden; a click
    # on its summary unfolds it and shows them
    root, child = steps[0], steps[1]
    assert root.get_attribute("open") is None and child.text == ""
    root.find_element(By.TAG_NAME, "summary").click()
    assert root.get_attribute("open") is not None and child.text.startswith("✓")
    shot = _shots(tmp_path) / "service-page-verdict.png"
    driver.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == PNG and shot.stat().st_size > 20_000
    # recorded in the default store, and listed in the history
    assert store.exists()
    driver.get(base + "/")
    rows = driver.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert "BRK-100" in rows[0].text and "USMCA" in rows[0].text and "qualifies" in rows[0].text


def test_a_batch_upload_runs_to_the_report_in_a_real_browser(server, driver, tmp_path):
    from selenium.webdriver.common.by import By

    from origin_rules.batch.sample import write_jsonl

    base, _ = server
    shipments = tmp_path / "shipments.jsonl"
    write_jsonl(str(shipments), 1000, products=200)
    driver.get(base + "/")
    driver.find_element(By.ID, "batch-file").send_keys(str(shipments))
    driver.execute_script("document.getElementById('batch-as-of').value = '2026-07-01';")
    driver.find_element(By.ID, "batch-start").click()
    _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#batch-links a"), timeout=300)
    bar = driver.find_element(By.ID, "batch-progress")
    assert bar.get_attribute("value") == bar.get_attribute("max") == str(shipments.stat().st_size)
    assert driver.find_element(By.ID, "batch-status").text == "done: 1000 records"
    links = {a.text: a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "#batch-links a")}
    assert set(links) == {"results (JSON Lines)", "report"}
    driver.execute_script("document.getElementById('batch-progress').scrollIntoView();")
    shot = _shots(tmp_path) / "service-batch-progress.png"
    driver.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == PNG
    driver.get(links["report"])
    _wait(driver, lambda d: d.find_elements(By.TAG_NAME, "h1"))
    assert "1,000 shipments" in driver.find_element(By.TAG_NAME, "body").text
    shot = tmp_path / "service-batch-report.png"  # checked, not kept in the docs
    driver.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == PNG and shot.stat().st_size > 20_000
