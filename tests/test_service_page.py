"""The analyst's page (server-rendered, TestClient): the form lists the agreements, a pasted
BOM is evaluated and recorded as the API does, the explanation is a collapsible tree, a bad
BOM shows the readers' problems, values from the BOM are escaped, the history lists the
records. (In a real browser: test_service_browser.py.)"""

from __future__ import annotations

from pathlib import Path

import html5lib
import pytest
from fastapi.testclient import TestClient

from origin_rules.audit import Store
from origin_rules.service import Settings, create_app

ROOT = Path(__file__).resolve().parent.parent
BRAKE = ROOT / "examples" / "boms" / "brake-assembly.yaml"


@pytest.fixture(scope="module")
def book(shipped_rulebook):
    return shipped_rulebook  # the shipped rules, loaded once per test process (tests/conftest.py)


@pytest.fixture
def client_store(book, tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    with TestClient(create_app(Settings(book=book, store=store, jobs_dir=str(tmp_path / "jobs"), insecure_local=True))) as client:
        yield client, store
    store.close()


def _parsed(text: str):
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(text)


def test_the_form_lists_every_agreement_and_marks_scenarios(client_store, book):
    client, _ = client_store
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    tree = _parsed(page.text)
    values = [box.get("value") for box in tree.iter("input") if box.get("name") == "under"]
    assert values == book.names
    assert page.text.count("(hypothetical)") == len(book.scenarios)
    assert "none yet" in page.text


def test_a_pasted_bom_is_evaluated_recorded_and_explained(client_store):
    client, store = client_store
    form = {"bom": BRAKE.read_text(encoding="utf-8"), "format": "yaml", "as_of": "2026-07-01",
            "explain": "summary", "by": "ana", "under": ["USMCA", "USMCA review 2026: China content cap"]}
    page = client.post("/ui/evaluate", data=form)
    assert page.status_code == 200
    tree = _parsed(page.text)
    headings = ["".join(h.itertext()) for h in tree.iter("h2")]
    assert headings == ["BRK-100 (8708.30) under USMCA, as of 2026-07-01: qualifies",
                        "BRK-100 (8708.30) under USMCA review 2026: China content cap, as of 2026-07-01: does not qualify"]
    assert len(list(tree.iter("details"))) >= 2  # the explanation, as a tree
    assert "82.35" in page.text  # RVC (net cost) = (850 - 150) / 850
    records = list(store.records())
    assert [(r.agreement, r.requested_by, r.channel) for r in records] == [
        ("USMCA", "ana", "page evaluate"), ("USMCA review 2026: China content cap", "ana", "page evaluate")]
    history = client.get("/").text
    assert "/ui/records/1" in history and "/ui/records/2" in history
    shown = client.get("/ui/records/2")
    assert shown.status_code == 200 and "does not qualify" in shown.text and records[1].bom_hash in shown.text


def test_a_bad_bom_shows_its_problems_with_lines(client_store):
    client, store = client_store
    page = client.post("/ui/evaluate", data={"bom": "product: {id: X}\nmaterials:\n  - {id: M1, value: abc}\n",
                                            "as_of": "2026-07-01"})
    assert page.status_code == 422
    assert "line 3: <code>materials[0].value</code>: expected a decimal number" in page.text
    assert store.count() == 0


def test_values_from_the_bom_are_escaped(client_store):
    client, _ = client_store
    text = BRAKE.read_text(encoding="utf-8").replace("id: BRK-100", "id: \"<script>alert(1)</script>\"")
    page = client.post("/ui/evaluate", data={"bom": text, "as_of": "2026-07-01", "under": "USMCA"})
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    history = client.get("/").text
    assert "<script>alert(1)" not in history and "&lt;script&gt;alert(1)" in history
    _parsed(page.text)


def test_an_agreement_named_twice_in_the_form_is_evaluated_and_recorded_once(client_store):
    """The page recorded a determination per repeat (POST /evaluate takes each name once)."""
    client, store = client_store
    form = {"bom": BRAKE.read_text(encoding="utf-8"), "as_of": "2026-07-01", "under": ["USMCA", "USMCA"]}
    page = client.post("/ui/evaluate", data=form)
    assert page.status_code == 200
    assert store.count() == 1


def test_a_record_that_does_not_exist_is_said_so(client_store):
    client, _ = client_store
    page = client.get("/ui/records/99999")
    assert page.status_code == 404
    assert "No such record" in page.text and "The BOM cannot be evaluated" not in page.text
