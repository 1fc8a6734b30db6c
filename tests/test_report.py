"""`origin-rules report`: the aggregation, a strict HTML5 parse, and a headless-browser render.

The HTML check parses the whole page (plotly.js included) with html5lib in strict mode;
it never skips. The other pages are parsed the same way with the inlined plotly.js left
out (:func:`without_library`): 4.8 MB of constant text, the same in every page, that takes
html5lib seconds each time. The render check opens the page in headless Chromium with the network
off and skips (with the reason) when no Chromium is installed.
"""

from __future__ import annotations

import functools
import html
import json
import os
import shutil
import subprocess
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import html5lib
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import origin_rules
from origin_rules.batch import Options, run_batch
from origin_rules.batch.sample import product_bom
from origin_rules.cli import app
from origin_rules.report import read_results, render_page, write_report
from origin_rules.report.aggregate import ResultsError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "boms"
CAP = "USMCA review 2026: China content cap"
runner = CliRunner()


@pytest.fixture(scope="module")
def results(tmp_path_factory, shipped_rulebook) -> Path:
    """Batch output for 1,200 generated shipments, the example BOMs and one broken record."""
    folder = tmp_path_factory.mktemp("report")
    src = folder / "shipments.jsonl"
    lines = [json.dumps(product_bom(i % 150, i % 3 == 0)) for i in range(1200)]
    lines[5] = lines[5].replace('"originating": false', '"originating": "maybe"', 1)
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = folder / "results.jsonl"
    book = shipped_rulebook
    inputs = [str(src)] + [str(p) for p in sorted(EXAMPLES.glob("*.yaml"))]
    run_batch(book, Options(inputs=inputs, out=str(out), as_of=date(2026, 7, 1), workers=1))
    return out


@pytest.fixture(scope="module")
def page(results) -> str:
    return render_page(read_results(results), "Portfolio impact, test")


LIBRARY_OPEN = '<script type="text/javascript">'


@functools.cache
def _library() -> str:
    """The inlined plotly.js: the body of the head's script in a page of one plain record."""
    with tempfile.TemporaryDirectory() as folder:
        results = Path(folder) / "results.jsonl"
        results.write_text(json.dumps({"source": "s.jsonl", "line": 1, "product_id": "P", "hs": "8708.30",
                                       "determinations": [{"agreement": "A", "verdict": "qualifies"}]}) + "\n")
        plain = render_page(read_results(results), "Plain")
    start = plain.index(LIBRARY_OPEN) + len(LIBRARY_OPEN)
    library = plain[start:plain.index("</script>", start)]
    assert library.startswith("/**\n* plotly.js v") and len(library) > 1_000_000, library[:200]
    return library


def without_library(page: str) -> str:
    """``page`` with the inlined plotly.js library left out (its script element kept, empty):
    the library, the same text in every page, is parsed whole once by
    :func:`test_page_is_valid_html5_and_self_contained`; what is left is all that a page's data
    can change."""
    library = _library()
    assert page.count(library) == 1 and page.count(LIBRARY_OPEN + library + "</script>") == 1
    return page.replace(library, "", 1)


def test_aggregate_counts_shipments_products_losses(results):
    p = read_results(results)
    records = [json.loads(line) for line in results.read_text().splitlines()]
    assert p.records == len(records) == 1200 + len(list(EXAMPLES.glob("*.yaml")))
    assert p.errors == 1 and p.error_samples[0]["error"]["problems"][0]["path"].endswith(".originating")
    assert "USMCA" in p.names and CAP in p.scenarios and p.base_of[CAP] == "USMCA"
    lost = {r["product_id"] for r in records if "determinations" in r
            for d in r["determinations"] if d["agreement"] == CAP and d["verdict"] != "qualifies"
            and any(b["agreement"] == "USMCA" and b["verdict"] == "qualifies" for b in r["determinations"])}
    assert set(p.losses[CAP]) == lost and "BRK-100" in lost
    assert p.losses[CAP]["BRK-100"].causes[0]["origin"] == "CN"
    assert p.origins["CN"] > 0 and p.headings
    assert sum(p.verdicts["USMCA"].values()) == sum(
        1 for r in records if any(d["agreement"] == "USMCA" for d in r.get("determinations", [])))


def test_scenarios_show_only_the_thresholds_they_change(results):
    p = read_results(results)
    shown = p.own_thresholds()
    assert any(t.agreement == "USMCA" for t in shown)
    cap_all = [t for t in p.margins if t.agreement == CAP]
    cap_shown = [t for t in shown if t.agreement == CAP]
    assert len(cap_shown) < len(cap_all)  # inherited unchanged thresholds are left out
    for t in cap_shown:  # kept only where the scenario moved some margin (e.g. a sub-assembly now failing)
        base = type(t)("USMCA", t.figure, t.comparison, t.threshold)
        assert p.margins[t] != p.margins.get(base)
    assert any(t.agreement == "USMCA review 2026: higher auto RVC" and t.threshold == 80 for t in shown)


def test_page_is_valid_html5_and_self_contained(page, results):
    parser = html5lib.HTMLParser(strict=True)
    parser.parse(page)  # raises on the first parse error
    assert not parser.errors
    assert page.startswith("<!DOCTYPE html>")
    lowered = page.lower()
    assert "<link" not in lowered and 'src="http' not in lowered and "src='http" not in lowered
    assert "plotly.js v" in page  # the library is inlined, not fetched
    for section in ("verdicts", "losses", "headroom", "causes", "warnings", "errors"):
        assert f'id="{section}"' in page
    assert "Portfolio impact, test" in page
    losses = read_results(results).losses[CAP].values()
    top = min(losses, key=lambda loss: (-loss.shipments, loss.product_id))
    assert f"<td>{top.product_id}</td>" in page and html.escape(top.reason) in page


def test_results_that_are_not_batch_output_are_refused(tmp_path):
    csv_out = tmp_path / "r.csv"
    csv_out.write_text("source,position\n", encoding="utf-8")
    with pytest.raises(ResultsError, match="JSON Lines"):
        read_results(csv_out)
    other = tmp_path / "r.jsonl"
    other.write_text('{"product": {"id": "P"}}\n', encoding="utf-8")
    with pytest.raises(ResultsError, match="not a batch output record"):
        read_results(other)
    for line, message in (('{"determinations": [}', r"r.jsonl:1: not JSON \("), ('{"determinations": NaN}', "not JSON"),
                          ('{"a": ' * 5000 + "1" + "}" * 5000, "r.jsonl:1: not batch output \\(JSON nested too deeply\\)")):
        other.write_text(line + "\n", encoding="utf-8")
        with pytest.raises(ResultsError, match=message):
            read_results(other)


def test_a_threshold_written_two_ways_is_one_threshold(tmp_path):
    """``60`` and ``60.0`` are the same threshold: one row of margins for both, whichever
    text a shipment carries, and the products' latest margins."""
    def record(product: str, threshold: str, margin: str) -> str:
        return json.dumps({"product_id": product, "determinations": [{"agreement": "USMCA", "verdict": "qualifies",
                           "thresholds": [{"figure": "rvc_net_cost", "value": "61", "threshold": threshold,
                                           "comparison": ">=", "margin": margin}]}]})

    out = tmp_path / "r.jsonl"
    out.write_text("\n".join([record("A", "60", "1"), record("B", "60.0", "2"), record("A", "60.0", "3"),
                              record("C", "60", "4")]) + "\n", encoding="utf-8")
    p = read_results(out)
    assert len(p.margins) == 1
    (threshold, margins), = p.margins.items()
    assert threshold.threshold == 60 and threshold.label == "RVC net cost >= 60%"
    assert margins == {"A": 3, "B": 2, "C": 4}


def _failure(value: str = "400.00", margin: str = "-15.38", threshold: str = "70") -> str:
    """A record of batch output: a failure with one threshold and one material behind it."""
    return json.dumps({"source": "x", "position": 1, "line": 1, "product_id": "P", "hs": "8708.30", "produced_in": "MX",
                       "determinations": [{"agreement": "USMCA", "verdict": "does_not_qualify", "rule": "8708.30",
                                           "figures": {}, "causes": [{"id": "M", "value": value, "origin": "CN",
                                                                      "hs": "7326.90"}],
                                           "thresholds": [{"figure": "rvc_net_cost", "value": "54.62",
                                                           "threshold": threshold, "comparison": ">=",
                                                           "margin": margin}]}]})


@pytest.mark.parametrize("fields, path, shown", [
    ({"value": "1e1000000"}, "determinations[0].causes[0].value", "`1e1000000`"),
    ({"value": "-9E+999999"}, "determinations[0].causes[0].value", "`-9E+999999`"),
    ({"value": "1" * 5000}, "determinations[0].causes[0].value", "`" + "1" * 20 + "...` (5000 characters)"),
    ({"value": "0.5" + "0" * 100}, "determinations[0].causes[0].value", "`0.5" + "0" * 17 + "...` (103 characters)"),
    ({"margin": "1e100"}, "determinations[0].thresholds[0].margin", "`1e100`"),
    ({"threshold": "1e-1000000"}, "determinations[0].thresholds[0].threshold", "`1e-1000000`"),
])
def test_a_number_beyond_any_batch_output_is_refused_with_its_line_and_field(tmp_path, fields, path, shown):
    """Sums and medians of such numbers overflowed Decimal (a traceback), and a threshold's
    text would have run to a million digits on the page: refused, at the record's line, the
    others being read first."""
    out = tmp_path / "r.jsonl"
    out.write_text(_failure() + "\n" + _failure(**fields) + "\n", encoding="utf-8")
    with pytest.raises(ResultsError) as info:
        read_results(out)
    assert str(info.value) == (f"{out}:2: `{path}` is {shown}: expected a number of sensible size (at most 100 "
                               "digits before the point and 100 after); is this batch output?")
    done = runner.invoke(app, ["report", str(out), "--html", str(tmp_path / "r.html")])
    assert done.exit_code == 2 and done.output == f"error: {info.value}\n"
    assert not (tmp_path / "r.html").exists()
    from origin_rules.files.parquet import write_results

    table = tmp_path / "r.parquet"
    with open(out, "rb") as jsonl, open(table, "wb") as handle:
        write_results(jsonl, handle)
    with pytest.raises(ResultsError) as info:
        read_results(table)
    assert str(info.value).startswith(f"{table}, row 2: `{path}` is {shown}: expected a number of sensible size")


def test_numbers_as_large_and_as_fine_as_batch_output_has_are_read(tmp_path):
    """A price of 10^41 converted at a rate of 10^41, with 80 decimal places: summed per origin."""
    big, fine = "9" * 82 + ".5", "0." + "0" * 79 + "1"
    out = tmp_path / "r.jsonl"
    out.write_text("\n".join([_failure(big), _failure(big), _failure(fine, margin="-1e-99")]) + "\n", encoding="utf-8")
    p = read_results(out)
    assert p.origin_value["CN"] == Decimal(big) * 2 + Decimal(fine)
    assert p.origins["CN"] == 3
    render_page(p, "large")


def test_cli_writes_the_report_and_refuses_bad_usage(results, tmp_path):
    html = tmp_path / "report.html"
    done = runner.invoke(app, ["report", str(results), "--html", str(html)])
    assert done.exit_code == 0, done.output
    assert html.stat().st_size > 1_000_000 and "wrote" in done.output
    assert runner.invoke(app, ["report", str(results), "--html", str(tmp_path / "r.txt")]).exit_code == 2
    assert runner.invoke(app, ["report", str(tmp_path / "none.jsonl"), "--html", str(html)]).exit_code == 2
    not_results = tmp_path / "x.jsonl"
    not_results.write_text("[1, 2]\n", encoding="utf-8")
    refused = runner.invoke(app, ["report", str(not_results), "--html", str(tmp_path / "x.html")])
    assert refused.exit_code == 2 and "not a batch output record" in refused.output


def _one_page(book: origin_rules.Rulebook, tmp_path: Path, inputs: list[str], names: list[str]) -> tuple[str, str]:
    """The page and the `report` command's message for a small batch."""
    out = tmp_path / "results.jsonl"
    run_batch(book, Options(inputs=inputs, out=str(out), names=names, as_of=date(2026, 7, 1), workers=1))
    html_path = tmp_path / "report.html"
    done = runner.invoke(app, ["report", str(out), "--html", str(html_path)])
    assert done.exit_code == 0, done.output
    return html_path.read_text(encoding="utf-8"), done.output


def _text(page: str) -> str:
    """The page's words without tags (scripts dropped), spaces collapsed."""
    import re

    body = re.sub(r"<script.*?</script>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_one_shipment_is_counted_in_the_singular(tmp_path, shipped_rulebook):
    page, message = _one_page(shipped_rulebook, tmp_path, [str(EXAMPLES / "brake-assembly.yaml")], ["USMCA", CAP])
    words = _text(page)
    assert "1 shipment · 1 product · from" in words
    assert "1 product (1 shipment) qualifies under USMCA but not under this scenario" in words
    assert "1 shipment loses treatment under" in words and "1 shipment (record)" in words
    assert "(1 record, 1 product)" in message
    for slip in ("1 products", "1 shipments", "1 records"):
        assert slip not in words and slip not in message, slip


def test_warnings_about_the_input_are_shown_per_code_and_product(tmp_path, shipped_rulebook):
    src = tmp_path / "odd.jsonl"
    src.write_text(
        '{"product": {"id": "ODD-1", "hs": "8708.30", "produced_in": "MX", "transaction_value": "1000"}, '
        '"materials": [{"id": "M", "hs": "7325.99", "origin": "CN", "originating": true, "value": "15000"}]}\n',
        encoding="utf-8")
    page, _ = _one_page(shipped_rulebook, tmp_path, [str(src), str(EXAMPLES / "brake-assembly.yaml")], ["USMCA"])
    html5lib.HTMLParser(strict=True).parse(without_library(page))
    section = page[page.index('<section id="warnings">'):]
    section = _text(section[:section.index("</section>")])
    assert "1 shipment (1 product) carries warnings." in section
    assert "BOM102 materials worth more than the product's price 1 1" in section
    assert ("ODD-1 8708.30 " + str(src) + ":1 1 product.transaction_value : the materials are worth 15000 in all") in section
    assert "materials[0].originating : declared originating under USMCA but its origin CN is not a party" in section
    assert "[BOM104] (under USMCA)" in section and "BRK-100" not in section
    assert "1 shipment with warnings about the input" in _text(page)


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.mark.slow  # a browser
def test_page_renders_in_headless_chromium(results, tmp_path):
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
            pytest.fail("no chromium binary found under CI: `make test` installs Debian's chromium")
        pytest.skip("no chromium binary found (Debian: apt-get install -y chromium; `make test` does)")
    html = tmp_path / "report.html"
    write_report(results, html)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
             "--virtual-time-budget=15000", "--window-size=1400,2000"]
    shot = tmp_path / "report.png"
    with tempfile.TemporaryDirectory() as profile:  # one run of the browser: the screenshot and the DOM
        dom = subprocess.run([browser, *flags, f"--user-data-dir={profile}", f"--screenshot={shot}", "--dump-dom",
                              html.as_uri()], capture_output=True, timeout=180, text=True).stdout
    assert shot.exists() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 100_000  # a blank page of this size compresses to a few KB
    assert dom.count('class="main-svg"') >= 4  # plotly.js ran offline and drew every chart


EVIL = "<script>alert(1)</script>\"&'"


def test_values_from_boms_and_rules_are_escaped_and_the_page_stays_well_formed(tmp_path):
    """Every text the page shows comes from a BOM, a rule file or the batch results: a
    product id, an HS code, a rule's title (the agreement or scenario name), the reason
    (the rule's description of the failing step), materials, threshold figures, warning and
    error messages, the page title. Each carries markup; none may reach the page as markup.
    A control character (refused by an HTML parser even as text) becomes U+FFFD."""
    from html.parser import HTMLParser

    base, scenario = "Pact " + EVIL, "Pact: review " + EVIL
    threshold = {"figure": "rvc_" + EVIL, "comparison": EVIL, "value": "55", "threshold": "60", "margin": "-5"}
    warning = {"code": "BOM1" + EVIL, "path": "product." + EVIL, "message": "odd " + EVIL}
    good = {"source": "s.jsonl", "line": 1, "product_id": "P" + EVIL, "hs": "87" + EVIL, "determinations": [
        {"agreement": base, "verdict": "qualifies", "thresholds": [dict(threshold, margin="3")],
         "warnings": [warning]},
        {"agreement": scenario, "base": base, "verdict": "does_not_qualify", "reason": "fails " + EVIL,
         "thresholds": [threshold], "warnings": [warning],
         "causes": [{"id": "M" + EVIL, "hs": "7325" + EVIL, "origin": "C" + EVIL, "value": "9" + EVIL}]}]}
    bad = {"source": "s.jsonl", "line": 2, "product_id": "Q" + EVIL,
           "error": {"problems": [{"path": "materials[0]." + EVIL, "message": "bell\x07 " + EVIL}]}}
    results = tmp_path / "results.jsonl"
    results.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    page = render_page(read_results(results), "Title " + EVIL)

    parser = html5lib.HTMLParser(strict=True)
    parser.parse(without_library(page))  # raises on the first parse error, e.g. the BEL left in the text
    assert not parser.errors

    class Read(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.scripts, self.charts, self.text, self.inside = 0, 0, [], None

        def handle_starttag(self, tag, attrs):
            self.scripts += tag == "script"
            self.charts += tag == "div" and dict(attrs).get("id", "").startswith("chart-")
            self.inside = tag

        def handle_data(self, data):
            if self.inside != "script":
                self.text.append(data)

    read = Read()
    read.feed(page)
    read.close()
    # one script for plotly.js, one per chart (verdicts, losses, headroom, causes): none from the data
    assert read.charts == 4 and read.scripts == 1 + read.charts
    text = "".join(read.text)
    for shown in ("Title " + EVIL, "P" + EVIL, "87" + EVIL, base, scenario, "fails " + EVIL,
                  "M" + EVIL + " 7325" + EVIL + " C" + EVIL + " 9" + EVIL,  # the material: id, HS, origin, value
                  "RVC " + EVIL + " " + EVIL + " 60%",  # the threshold's label
                  "product." + EVIL + ": odd " + EVIL + " [BOM1" + EVIL + "]", "BOM1" + EVIL,
                  "materials[0]." + EVIL + ": bell\ufffd " + EVIL, "Q" + EVIL):
        assert shown in text, shown
    # outside the charts' JSON, the raw markup never appears, only its escaped form
    assert "<script>alert(1)" not in page and "alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&amp;&#39;" in page
    # inside the charts, texts are escaped for plotly's label dialect, then JSON-escaped by plotly
    assert "Pact &lt;script&gt;alert(1)&lt;\\u002fscript&gt;\\\"&amp;'" in page


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=12), st.sampled_from(["1.50", "-3.65", "NaN", "Infinity", "1E+2", " 7 ", "", "0",
                                                         "1e100", "1e-101", "0E+1000"]),
                 st.integers(), st.none(), st.booleans()))
def test_a_figure_read_twice_reads_the_same(value):
    """The report remembers what it made of each figure's text: the same answer as reading it
    anew, the first time and the next (a number out of range is refused each time)."""
    from origin_rules.report import aggregate

    def read(how):
        try:
            return how(value)
        except aggregate.OutOfRange as exc:
            assert exc.value is value
            return "out of range"

    fresh = read(aggregate._read_decimal)
    assert read(aggregate._decimal) == fresh and read(aggregate._decimal) == fresh
    if isinstance(fresh, Decimal):
        assert aggregate._decimal(value).as_tuple() == fresh.as_tuple()


def test_headroom_chart_marks_each_row_as_plotly_helpers_would(results):
    """The band within 5 points of the threshold and the line at it, given as shapes at once:
    the very shapes ``add_vrect`` and ``add_vline`` make on each row's axes."""
    from origin_rules.report import charts

    fig = charts.headroom_figure(read_results(results))
    rows = len(fig.layout.annotations)  # one subplot title per agreement or scenario with thresholds
    assert rows >= 2
    reference = fig.to_dict()
    reference["layout"].pop("shapes")
    ref = charts.go.Figure(reference)
    ref._grid_ref = fig._grid_ref  # (the subplot grid the helpers' row= reads)
    for row in range(1, rows + 1):
        ref.add_vrect(x0=0, x1=float(charts.AT_RISK_POINTS), fillcolor=charts.COLORS["at_risk"], opacity=0.08,
                      line_width=0, row=row, col=1)
        ref.add_vline(x=0, line_color="#444", line_width=1, row=row, col=1)
    assert [s.to_plotly_json() for s in fig.layout.shapes] == [s.to_plotly_json() for s in ref.layout.shapes]
    assert {s["xref"] for s in fig.to_dict()["layout"]["shapes"]} == {"x"} | {f"x{r}" for r in range(2, rows + 1)}


def _entry(agreement: str, verdict: str, margins: list[str] = (), base: str | None = None) -> dict:
    out = {"agreement": agreement, "verdict": verdict,
           "thresholds": [{"figure": "rvc_net_cost", "value": "70", "threshold": "70", "comparison": ">=",
                           "margin": m} for m in margins]}
    if base:
        out["base"] = base
    return out


def _results(tmp_path: Path, *records: tuple[str, list[dict]]) -> Path:
    out = tmp_path / "r.jsonl"
    out.write_text("".join(json.dumps({"product_id": product, "hs": "8708.30", "determinations": entries}) + "\n"
                           for product, entries in records), encoding="utf-8")
    return out


def test_a_products_margins_are_its_most_recent_shipments(tmp_path):
    """A later shipment without the threshold (a figure missing) left the earlier margin
    counted: a product at risk that its latest shipment does not show."""
    p = read_results(_results(tmp_path, ("A", [_entry("USMCA", "qualifies", ["2.00"])]),
                              ("B", [_entry("USMCA", "qualifies", ["9.00"])]),
                              ("A", [_entry("USMCA", "qualifies")])))
    ((threshold, margins),) = p.margins.items()
    assert margins == {"B": Decimal("9.00")}
    p = read_results(_results(tmp_path, ("A", [_entry("USMCA", "qualifies", ["2.00"])]),
                              ("A", [_entry("USMCA", "qualifies")])))
    assert p.margins == {}  # no product's latest shipment met it: no row, and the page still renders
    assert "within 5 points" in render_page(p)


def test_shares_and_medians_are_rounded_half_up_as_every_figure(tmp_path):
    """Python's formatting rounds half to even: 1 of 16 showed 6.2%, a median of 11.845 +11.84."""
    records = [("A", [_entry("USMCA", "qualifies", ["8.10"])]), ("B", [_entry("USMCA", "qualifies", ["15.59"])])]
    records += [(f"N{i}", [_entry("USMCA", "does_not_qualify")]) for i in range(14)]
    words = _text(render_page(read_results(_results(tmp_path, *records))))
    assert "12.5% of shipments qualify under USMCA" in words  # 2 of 16
    assert "+11.85" in words and "+11.84" not in words
    records = [("A", [_entry("USMCA", "qualifies")])] + [(f"N{i}", [_entry("USMCA", "does_not_qualify")]) for i in range(15)]
    assert "6.3% of shipments qualify under USMCA" in _text(render_page(read_results(_results(tmp_path, *records))))


def test_losses_under_a_scenario_whose_agreement_was_not_run_are_not_known_not_none(tmp_path):
    cap = "USMCA review 2026: China content cap"
    p = read_results(_results(tmp_path, ("A", [_entry(cap, "does_not_qualify", base="USMCA")])))
    words = _text(render_page(p))
    assert "USMCA was not evaluated in this batch" in words
    assert "No product loses qualification" not in words and "lose treatment" not in words


def test_a_headings_label_is_its_description_cut_at_a_length_not_at_its_first_semicolon(tmp_path):
    """87.08 is "Motor vehicles; parts and accessories ...": the label read "87.08 Motor
    vehicles", another heading's goods."""
    out = tmp_path / "c.jsonl"
    out.write_text(json.dumps({"product_id": "A", "hs": "8708.30", "determinations": [
        {"agreement": "USMCA", "verdict": "does_not_qualify",
         "causes": [{"id": "M", "hs": "8708.99", "origin": "CN", "value": "1.00"}]}]}) + "\n", encoding="utf-8")
    page = render_page(read_results(out))
    assert "87.08 Motor vehicles; parts and accessor…" in page
