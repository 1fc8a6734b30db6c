"""`origin-rules batch --rates FILE`: exchange rates added to every BOM of a batch, as
`evaluate --rates` does (docs/bom.md, Currencies); a rate a BOM declares itself wins; the
rates reach the worker processes and the audit records of `--record`.

Hand-worked figures (rule: change of heading, or RVC(TV) >= 60%; TV 1000.00 USD):
- HOUSING of 8708.30 (the good's own heading: fails the change) worth 500.00 EUR, PAD
  100.00 USD. At the file's EUR->USD 1.0842: 500.00 x 1.0842 = 542.10; VNM = 642.10;
  RVC(TV) = (1000 - 642.10) / 1000 = 35.79% < 60% -> does not qualify.
- At the BOM's own rate 0.5: 250.00; VNM = 350.00; RVC(TV) = 65.00% >= 60% -> qualifies.
- No rate at all: the housing's price is left out; the RVC needs it -> insufficient data,
  missing rates[EUR->USD].
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from origin_rules.audit.store import Store
from origin_rules.cli import app

RULES = """\
agreement "A" {
  parties = [US, MX, CA]
  rule 8708.30 "Brakes" {
    change from any other heading
    or rvc(transaction_value) >= 60%
  }
}
"""

RATES = """\
rates:
  - {from: EUR, to: USD, rate: "1.0842", date: 2026-06-30, source: ECB}
"""


def bom(product_id: str, own_rate: str | None = None) -> dict:
    data = {
        "product": {"id": product_id, "hs": "8708.30", "produced_in": "MX", "currency": "USD",
                    "transaction_value": "1000.00"},
        "materials": [
            {"id": "HOUSING", "hs": "8708.30", "origin": "DE", "originating": False, "value": "500.00",
             "currency": "EUR"},
            {"id": "PAD", "hs": "6813.81", "origin": "CN", "originating": False, "value": "100.00"},
        ],
    }
    if own_rate is not None:
        data["rates"] = [{"from": "EUR", "to": "USD", "rate": own_rate}]
    return data


@pytest.fixture
def setup(tmp_path):
    rules = tmp_path / "a.roo"
    rules.write_text(RULES, encoding="utf-8")
    rates = tmp_path / "rates.yaml"
    rates.write_text(RATES, encoding="utf-8")
    source = tmp_path / "in.jsonl"
    lines = [json.dumps(bom("G-1")), json.dumps(bom("G-2", own_rate="0.5")), json.dumps(bom("G-3"))]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path, rules, rates, source, lines


def batch(source: Path, out: Path, rules: Path, *extra: str):
    return CliRunner().invoke(app, ["batch", str(source), "--out", str(out), "--rules", str(rules), "-u", "A",
                                    "--as-of", "2026-07-01", *extra])


def determinations(out: Path) -> list[dict]:
    return [json.loads(line)["determinations"][0] for line in out.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_batch_rates_convert_every_bom_and_a_boms_own_rate_wins(setup, workers):
    tmp, rules, rates, source, _ = setup
    out = tmp / f"out-{workers}.jsonl"
    result = batch(source, out, rules, "--rates", str(rates), "--workers", workers)
    assert result.exit_code == 0, result.output
    dets = determinations(out)
    assert [d["verdict"] for d in dets] == ["does_not_qualify", "qualifies", "does_not_qualify"]
    assert dets[0]["figures"]["vnm"] == "642.10" and dets[1]["figures"]["vnm"] == "350.00"


def test_batch_without_rates_asks_for_them(setup):
    tmp, rules, _, source, _ = setup
    out = tmp / "out.jsonl"
    result = batch(source, out, rules, "--workers", "1")
    assert result.exit_code == 0, result.output
    dets = determinations(out)
    assert [d["verdict"] for d in dets] == ["insufficient_data", "qualifies", "insufficient_data"]
    assert dets[0]["missing"] == ["rates[EUR->USD]"]


def test_batch_bad_rates_file_is_a_usage_error_naming_it(setup):
    tmp, rules, _, source, _ = setup
    bad = tmp / "bad.yaml"
    bad.write_text("rates:\n  - {from: EUR, to: USD, rate: 1.0x}\n", encoding="utf-8")
    out = tmp / "out.jsonl"
    result = batch(source, out, rules, "--rates", str(bad), "--workers", "1")
    assert result.exit_code == 2
    assert "bad.yaml" in result.output and not out.exists()


def test_batch_record_with_rates_keeps_the_bom_as_evaluated(setup, monkeypatch):
    tmp, rules, rates, source, lines = setup
    url = f"sqlite:///{tmp / 'audit.sqlite3'}"
    monkeypatch.setenv("ORIGIN_RULES_DB", url)
    result = batch(source, tmp / "out.jsonl", rules, "--rates", str(rates), "--workers", "1", "--record")
    assert result.exit_code == 0, result.output
    records = list(Store(url).records())
    assert [(r.product_id, r.verdict) for r in records] == [
        ("G-1", "does_not_qualify"), ("G-2", "qualifies"), ("G-3", "does_not_qualify")]
    # the file's rate was added to G-1 and G-3: kept as evaluated, so a replay needs no file
    assert records[0].bom_format == "bom-json" and "1.0842" in records[0].bom_received
    # G-2 declares its own EUR->USD rate: the file adds nothing, the line is kept as received
    assert records[1].bom_received == lines[1]
