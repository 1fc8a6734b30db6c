"""`origin-rules certify` (issue 16, parts 3 and 4): the origin criterion derived on each way
of qualifying, the Annex 5-A data elements validated against the JSON Schema for every example
BOM that qualifies, refusals with their reason, the printable page, and batches with an index."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import html5lib
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from typer.testing import CliRunner

import origin_rules
from origin_rules.cli import app
from origin_rules.files.boms import loads_bom, read_boms
from origin_rules.model.bom import BOM, BomError
from origin_rules.paperwork.bulk import certify_all, file_stem
from origin_rules.paperwork.certify import USMCA_STATEMENT, Refused, Request, certify, form_of
from origin_rules.paperwork.criteria import NotDerived, usmca_criterion
from origin_rules.paperwork.document import certification_json_schema
from origin_rules.paperwork.page import render_certification
from origin_rules.paperwork.profile import profile_from_data, read_profile

ROOT = Path(__file__).resolve().parent.parent
PAPERWORK = ROOT / "examples" / "paperwork"
ON = date(2026, 6, 1)
runner = CliRunner()
VALIDATOR = Draft202012Validator(certification_json_schema(), format_checker=FormatChecker())
LETTER = {"wholly_obtained": "A", "product_specific_rule": "B", "all_materials_originating": "C", "fallback": "D"}


@pytest.fixture(scope="module")
def profile():
    return read_profile(PAPERWORK / "profile.yaml")


def _bom(product: dict, materials: list[dict]) -> BOM:
    return BOM.model_validate({"product": {"id": "G", "description": "A good", "produced_in": "MX", "currency": "USD",
                                           **product}, "materials": materials})


# One BOM per way of qualifying under USMCA, each worked by hand against the shipped rules.
WAYS = {
    # wholly obtained: Art. 4.2(a)
    "A": _bom({"hs": "0201.10", "wholly_obtained": True}, []),
    # the 8708.30 rule (a change from any other heading) holds: the pads are of 68.13
    "B": _bom({"hs": "8708.30", "transaction_value": "1000.00", "end_use": "aftermarket"},
              [{"id": "PAD", "hs": "6813.81", "origin": "CN", "originating": False, "value": "100.00"}]),
    # every material originating: Art. 4.2(c), no rule consulted
    "C": _bom({"hs": "8708.30", "transaction_value": "1000.00", "end_use": "aftermarket"},
              [{"id": "PAD", "hs": "6813.81", "origin": "US", "originating": True, "value": "100.00"}]),
    # a non-originating part of the good's own subheading 8714.10 fails the tariff shift; the
    # GN11(b)(iv) fallback holds with RVC(TV) = (1000 - 400) / 1000 = 60% (tests/test_general_rules.py)
    "D": _bom({"hs": "8714.10", "transaction_value": "1000.00", "net_cost": "800.00"},
              [{"id": "P", "hs": "8714.10", "origin": "CN", "originating": False, "value": "400.00",
                "provided_as_part": True}]),
}


@pytest.mark.parametrize("letter", sorted(WAYS))
def test_the_origin_criterion_follows_how_the_good_qualified(shipped_rulebook, profile, letter):
    bom = WAYS[letter]
    det = shipped_rulebook.evaluate(bom, under="USMCA", as_of=ON)
    assert det.verdict == "qualifies" and LETTER[det.origin_criterion] == letter
    doc = certify(shipped_rulebook, bom, "USMCA", profile, Request(ON))
    assert doc.goods[0].origin_criterion == letter and f"Art. 4.2({letter.lower()})" in doc.goods[0].origin_criterion_meaning
    VALIDATOR.validate(json.loads(doc.to_json()))


def test_another_fallback_is_no_criterion():
    fallback = SimpleNamespace(text="Retail sets", node=SimpleNamespace(cites=["19 U.S.C. 4531(m)"]))
    outcome = SimpleNamespace(criterion="fallback", fallbacks=[(fallback, SimpleNamespace(result=True))])
    with pytest.raises(NotDerived, match="Retail sets"):
        usmca_criterion(outcome)
    gn11 = SimpleNamespace(text="No change", node=SimpleNamespace(cites=["HTSUS GN11(b)(iv) [2nd]"]))
    unheld = SimpleNamespace(criterion="fallback", fallbacks=[(gn11, SimpleNamespace(result=None)),
                                                              (fallback, SimpleNamespace(result=True))])
    with pytest.raises(NotDerived):  # only a fallback that held counts
        usmca_criterion(unheld)


def _qualifying_examples(book):
    for path in sorted((ROOT / "examples" / "boms").glob("*.yaml")):
        for record in read_boms(path):
            for name in book.applicable(record.bom):
                if name in book.agreements and form_of(book, name) and book.verdict(record.bom, name, ON) == "qualifies":
                    yield path.name, record.bom, name


def test_every_example_that_qualifies_is_certified_valid_against_the_schema(shipped_rulebook, profile):
    seen = []
    profiles = {"USMCA": profile, "EU-UK TCA": read_profile(PAPERWORK / "profile-eu.yaml")}
    for name, bom, under in _qualifying_examples(shipped_rulebook):
        try:
            doc = certify(shipped_rulebook, bom, under, profiles[under], Request(ON, invoice="INV-1"))
        except Refused as exc:  # only for a lack the form cannot do without
            assert "description" in str(exc) or "six digits" in str(exc), (name, exc)
            continue
        data = json.loads(doc.to_json())
        VALIDATOR.validate(data)
        det = shipped_rulebook.evaluate(bom, under=under, as_of=ON)
        if doc.form == "usmca-annex-5-a":
            assert data["goods"][0]["origin_criterion"] == LETTER[det.origin_criterion], name
            assert data["statement"] == USMCA_STATEMENT and data["certifier_role"] == "producer"
        else:
            origin = "UK" if bom.product.produced_in == "GB" else "EU"
            assert data["goods"][0]["preferential_origin"] == origin
            assert data["statement"] == (
                "The exporter of the products covered by this document (Exporter Reference No GB123456789000) "
                f"declares that, except where otherwise clearly indicated, these products are of {origin} "
                "preferential origin.")
        assert data["goods"][0]["hs6"] == bom.product.hs[:7] and data["basis"]["rules_digest"] == det.rules_digest
        html5lib.HTMLParser(strict=True).parse(render_certification(doc))
        seen.append((name, under))
    assert len(seen) >= 8 and {u for _, u in seen} == {"USMCA", "EU-UK TCA"}


def test_the_schema_refuses_a_usmca_certification_without_a_criterion(shipped_rulebook, profile):
    data = json.loads(certify(shipped_rulebook, WAYS["B"], "USMCA", profile, Request(ON)).to_json())
    data["goods"][0]["origin_criterion"] = None
    assert list(VALIDATOR.iter_errors(data))
    data["goods"][0]["origin_criterion"] = "E"
    assert list(VALIDATOR.iter_errors(data))
    del data["certifier"]
    assert list(VALIDATOR.iter_errors(data))


@pytest.mark.parametrize("hollow", ["certifier", "producer", "meaning"])
def test_the_schema_refuses_a_usmca_certification_with_an_element_left_hollow(shipped_rulebook, profile, hollow):
    """docs/certify.md: the schema requires the certifier and the producer with their name,
    address and country (or, for the producer, a statement) and each good's criterion with its
    meaning; an empty `certifier: {}` or `producer: {}` and no meaning passed."""
    data = json.loads(certify(shipped_rulebook, WAYS["B"], "USMCA", profile, Request(ON)).to_json())
    VALIDATOR.validate(data)
    if hollow == "meaning":
        data["goods"][0].pop("origin_criterion_meaning")
    else:
        data[hollow] = {}
    assert list(VALIDATOR.iter_errors(data))
    if hollow == "producer":
        data["producer"] = {"statement": "Available upon request by the importing authorities"}
        VALIDATOR.validate(data)


def test_refusals_name_the_reason(shipped_rulebook, profile):
    bom = origin_rules.read_bom(PAPERWORK / "certified-brake.yaml")
    with pytest.raises(Refused, match=r"does not qualify under USMCA as of 2027-01-01.*SUP-2026-17.*expired on 2026-12-31"):
        certify(shipped_rulebook, bom, "USMCA", profile, Request(date(2027, 1, 1)))
    # qualifies on the determination date, not on every day of the blanket period
    with pytest.raises(Refused, match=r"on 2027-01-01, a day of the blanket period 2026-07-01 to 2027-06-30"):
        certify(shipped_rulebook, bom, "USMCA", profile, Request(ON, date(2026, 7, 1), date(2027, 6, 30)))
    doc = certify(shipped_rulebook, bom, "USMCA", profile, Request(ON, date(2026, 1, 1), date(2026, 12, 31)))
    assert doc.blanket_period == {"from": date(2026, 1, 1), "until": date(2026, 12, 31)}
    assert doc.basis.evidence[0].basis == "certification" and "SUP-2026-17" in doc.basis.evidence[0].text
    with pytest.raises(Refused, match="longer than 12 months"):
        certify(shipped_rulebook, bom, "USMCA", profile, Request(ON, date(2026, 1, 1), date(2027, 1, 1)))
    undecided = _bom({"hs": "8708.30", "transaction_value": "1000.00", "end_use": "passenger_vehicle"},
                     [{"id": "H", "hs": "8708.30", "origin": "CN", "originating": False, "value": "150.00"}])
    with pytest.raises(Refused, match="insufficient data"):
        certify(shipped_rulebook, undecided, "USMCA", profile, Request(ON))
    with pytest.raises(Refused, match="no certification form for CPTPP"):
        certify(shipped_rulebook, WAYS["B"], "CPTPP", profile, Request(ON))
    nameless = WAYS["B"].model_copy(update={"product": WAYS["B"].product.model_copy(update={"description": None})})
    with pytest.raises(Refused, match="description"):
        certify(shipped_rulebook, nameless, "USMCA", profile, Request(ON))
    importer = profile_from_data({"certifier_role": "importer", "exporter": "unknown", "certifier": {
        "name": "I", "address": "Toledo", "country": "US"}})
    with pytest.raises(Refused, match="names no `producer`"):
        certify(shipped_rulebook, WAYS["B"], "USMCA", importer, Request(ON))
    # the TCA form for a good made in MX: the exporter of the USMCA profile is no TCA party
    gb = WAYS["B"].model_copy(update={"product": WAYS["B"].product.model_copy(update={"produced_in": "GB"})})
    with pytest.raises(Refused, match="the exporter in the profile, María López Garza, is in MX"):
        certify(shipped_rulebook, gb, "EU-UK TCA", profile, Request(ON))


def test_a_scenario_uses_its_agreements_form(shipped_rulebook, profile):
    doc = certify(shipped_rulebook, WAYS["C"], "USMCA review 2026: China content cap", profile, Request(ON))
    assert doc.form == "usmca-annex-5-a" and doc.goods[0].origin_criterion == "C"


def test_profile_errors_name_the_file_line_and_field(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("certifier_role: seller\ncertifier:\n  name: X\n  country: XX\n", encoding="utf-8")
    with pytest.raises(BomError) as info:
        read_profile(path)
    text = str(info.value)
    assert "p.yaml:1: certifier_role" in text and "'exporter', 'producer' or 'importer'" in text
    assert "certifier.address" in text and "certifier.country" in text and "alpha-2" in text


def test_the_page_escapes_what_the_bom_says(shipped_rulebook, profile):
    bom = WAYS["B"].model_copy(update={"product": WAYS["B"].product.model_copy(
        update={"description": "<script>alert(1)</script> & brakes"})})
    page = render_certification(certify(shipped_rulebook, bom, "USMCA", profile, Request(ON)))
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; brakes" in page
    html5lib.HTMLParser(strict=True).parse(page)
    assert USMCA_STATEMENT in page and "Origin criterion" in page and "Blanket period" in page


def test_a_batch_writes_one_file_per_product_and_period_and_an_index(shipped_rulebook, profile, tmp_path):
    records = [*read_boms(PAPERWORK / "certified-brake.yaml"), *read_boms(PAPERWORK / "certified-brake.yaml"),
               *read_boms(ROOT / "examples" / "boms" / "missing-data.yaml")]
    request = Request(ON, date(2026, 1, 1), date(2026, 12, 31))
    index = certify_all(shipped_rulebook, records, profile, request, tmp_path)
    assert [(c["product_id"], c["agreement"], c["criterion"]) for c in index.certified] == [("BRK-200", "USMCA", "B")]
    files = sorted(p.name for p in tmp_path.iterdir())
    assert "BRK-200_USMCA_2026-01-01_2026-12-31.json" in files and "BRK-200_USMCA_2026-01-01_2026-12-31.html" in files
    assert "index.json" in files and "index.html" in files and len(files) == 4
    reasons = [r["reason"] for r in index.refused]
    assert any("already certified under USMCA for this period" in r for r in reasons)
    assert any("does not qualify" in r for r in reasons)
    assert json.loads((tmp_path / "index.json").read_text())["certified"][0]["json"] == \
        "BRK-200_USMCA_2026-01-01_2026-12-31.json"
    VALIDATOR.validate(json.loads((tmp_path / "BRK-200_USMCA_2026-01-01_2026-12-31.json").read_text()))
    html5lib.HTMLParser(strict=True).parse((tmp_path / "index.html").read_text())


def test_the_command(tmp_path):
    args = ["certify", str(PAPERWORK / "certified-brake.yaml"), "--rules", str(ROOT / "rules"),
            "--profile", str(PAPERWORK / "profile.yaml")]
    ok = runner.invoke(app, [*args, "--as-of", "2026-06-01"])
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.output)
    assert data["goods"][0]["origin_criterion"] == "B" and data["blanket_period"] == {
        "from": "2026-01-01", "until": "2026-12-31"}  # the profile's
    refused = runner.invoke(app, [*args, "--as-of", "2027-01-01", "--from", "2027-01-01", "--until", "2027-12-31"])
    assert refused.exit_code == 1 and "refused:" in refused.output and "SUP-2026-17" in refused.output
    page = tmp_path / "c.html"
    html = runner.invoke(app, [*args, "--as-of", "2026-06-01", "--invoice", "INV-7", "--format", "html", "-o", str(page)])
    assert html.exit_code == 0 and "Invoice No INV-7" in page.read_text() and "Single shipment" in page.read_text()
    # the example declares its EUR rate itself; a rates file adds a CAD rate it does not need
    rated = runner.invoke(app, [*args, "--as-of", "2026-06-01", "--rates", str(PAPERWORK / "rates.yaml")])
    assert rated.exit_code == 0 and json.loads(rated.output)["goods"][0]["origin_criterion"] == "B"
    both = runner.invoke(app, [*args, "--invoice", "INV-7", "--from", "2026-01-01", "--until", "2026-02-01"])
    assert both.exit_code == 2
    batch = runner.invoke(app, ["certify", str(ROOT / "examples" / "boms"), "--rules", str(ROOT / "rules"),
                                "--profile", str(PAPERWORK / "profile.yaml"), "--as-of", "2026-06-01",
                                "--invoice", "INV-7", "--out-dir", str(tmp_path / "out")])
    assert batch.exit_code == 0 and "certifications written" in batch.output
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    assert index["certified"] and all(r["reason"] for r in index["refused"])


@pytest.mark.parametrize("option, value", [("--signed", "2026-02-30"), ("--signed", "xyz"), ("--from", "xyz"),
                                           ("--until", "2026-13-01"), ("--as-of", "2026-02-30")])
def test_a_date_that_is_no_date_is_named_by_its_own_option(option, value):
    dates = {"--as-of": "2026-06-01", "--from": "2026-01-01", "--until": "2026-12-31"}
    dates[option] = value
    args = ["certify", str(PAPERWORK / "certified-brake.yaml"), "--rules", str(ROOT / "rules"),
            "--profile", str(PAPERWORK / "profile.yaml"), *(x for o, v in dates.items() for x in (o, v))]
    done = runner.invoke(app, args)
    assert done.exit_code == 2
    assert done.output == f"error: `{option} {value}` is not a date: write YYYY-MM-DD, e.g. 2026-07-01\n"


def test_a_blanket_period_given_backwards_is_bad_usage():
    """`--from` after `--until` is a mistake in the command (exit 2), not a refusal of the
    good (exit 1, as it was)."""
    args = ["certify", str(PAPERWORK / "certified-brake.yaml"), "--rules", str(ROOT / "rules"),
            "--profile", str(PAPERWORK / "profile.yaml"), "--as-of", "2026-06-01",
            "--from", "2026-12-31", "--until", "2026-01-01"]
    done = runner.invoke(app, args)
    assert done.exit_code == 2
    assert done.output == ("error: `--until 2026-01-01` is before `--from 2026-12-31`: the blanket period ends "
                           "before it starts\n")


@pytest.mark.parametrize("text, message", [
    ("", "p.yaml: the profile is empty: expected a mapping with `certifier_role` and `certifier` "
         "(docs/certify.md, The profile)"),
    ("# only a comment\n", "p.yaml: the profile is empty: expected a mapping with `certifier_role` and `certifier` "
                           "(docs/certify.md, The profile)"),
    ("- a\n", "p.yaml:1: expected a profile (a mapping with `certifier_role` and `certifier`, docs/certify.md), "
              "got a list"),
    ("x\n", "p.yaml:1: expected a profile (a mapping with `certifier_role` and `certifier`, docs/certify.md), "
            "got \"x\""),
])
def test_a_profile_that_is_no_mapping_is_called_a_profile(tmp_path, text, message):
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BomError) as info:
        read_profile(path)
    assert str(info.value) == str(path.parent / message)
    assert "BOM" not in str(info.value)
    done = runner.invoke(app, ["certify", str(PAPERWORK / "certified-brake.yaml"), "--rules", str(ROOT / "rules"),
                               "--profile", str(path), "--as-of", "2026-06-01"])
    assert done.exit_code == 2 and done.output == f"error: {path.parent / message}\n"


@pytest.mark.parametrize("on, start", [(ON, date(9999, 6, 1)), (date(9999, 12, 31), date(9999, 1, 1)),
                                       (date(9999, 12, 31), date(9999, 12, 31))])
def test_a_blanket_period_may_end_on_the_last_day_of_the_calendar(shipped_rulebook, profile, tmp_path, on, start):
    """The 12 months from a start in 9999 end beyond the calendar: any end within it is
    shorter, and the period is checked up to 9999-12-31, not one day past it."""
    last = date(9999, 12, 31)
    doc = certify(shipped_rulebook, WAYS["B"], "USMCA", profile, Request(on, start, last))
    assert doc.blanket_period == {"from": start, "until": last}
    assert (doc.basis.checked_from, doc.basis.checked_until) == (start, last)
    bom = tmp_path / "b.yaml"
    bom.write_text(json.dumps({"product": {"id": "G", "description": "A good", "produced_in": "MX", "currency": "USD",
                                           "hs": "8708.30", "transaction_value": "1000.00", "end_use": "aftermarket"},
                               "materials": [{"id": "PAD", "hs": "6813.81", "origin": "CN", "originating": False,
                                              "value": "100.00"}]}), encoding="utf-8")
    done = runner.invoke(app, ["certify", str(bom), "--rules", str(ROOT / "rules"), "--profile",
                               str(PAPERWORK / "profile.yaml"), "--as-of", on.isoformat(), "--from", start.isoformat(),
                               "--until", last.isoformat()])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["blanket_period"] == {"from": start.isoformat(), "until": "9999-12-31"}


def _brakes(folder: Path, *ids: str) -> Path:
    """A folder of copies of the example brake, one per product id."""
    folder.mkdir()
    text = (PAPERWORK / "certified-brake.yaml").read_text(encoding="utf-8")
    for n, product in enumerate(ids):
        (folder / f"b{n}.yaml").write_text(text.replace("id: BRK-200", f"id: {json.dumps(product)}"), encoding="utf-8")
    return folder


def test_file_names_are_short_and_distinct_whatever_the_product_id():
    request = Request(ON, invoice="I" * 300)
    assert file_stem("BRK-200", "USMCA", Request(ON, date(2026, 1, 1), date(2026, 12, 31))) == \
        "BRK-200_USMCA_2026-01-01_2026-12-31"
    long_a, long_b = "x" * 300, "x" * 299 + "y"
    stems = {p: file_stem(p, "EU-UK TCA", request) for p in (long_a, long_b, "A/B", "A B", "A-B", "é" * 200)}
    assert len(set(stems.values())) == len(stems)  # two ids never share a file name
    assert stems["A-B"].startswith("A-B_EU-UK-TCA_shipment_I")  # an id that is a safe name stays as it is
    assert stems["A/B"].startswith("A-B~") and stems["A B"].startswith("A-B~")
    assert all(len(f"{s}.html".encode()) <= 240 for s in stems.values())  # (room for the temporary file's name)
    assert file_stem(long_a, "EU-UK TCA", request) == stems[long_a]  # the same id, the same name
    assert stems[long_a].startswith("x" * 48 + "~")


def test_a_long_product_id_is_certified_and_loses_no_other(tmp_path):
    boms = _brakes(tmp_path / "in", "BRK-201", "x" * 300, "BRK-202")
    out = tmp_path / "od"
    done = runner.invoke(app, ["certify", str(boms), "--rules", str(ROOT / "rules"), "--profile",
                               str(PAPERWORK / "profile.yaml"), "--as-of", "2026-06-01", "--invoice", "I7",
                               "--out-dir", str(out)])
    assert done.exit_code == 0, done.output
    assert done.output.startswith(f"3 certifications written to {out}, 0 not certified")
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert [c["product_id"] for c in index["certified"]] == ["BRK-201", "x" * 300, "BRK-202"]
    for row in index["certified"]:
        assert json.loads((out / row["json"]).read_text(encoding="utf-8"))["goods"][0]["product_id"] == row["product_id"]
        assert (out / row["html"]).is_file()
    assert (out / "index.html").is_file()


def test_a_file_that_cannot_be_written_refuses_its_record_only(shipped_rulebook, profile, tmp_path):
    records = [r for path in sorted(_brakes(tmp_path / "in", "BRK-201", "BRK-202", "BRK-203").iterdir())
               for r in read_boms(path)]
    request = Request(ON, invoice="I7")
    out = tmp_path / "od"
    (out / f"{file_stem('BRK-202', 'USMCA', request)}.html").mkdir(parents=True)  # a folder in the way
    index = certify_all(shipped_rulebook, records, profile, request, out)
    assert [c["product_id"] for c in index.certified] == ["BRK-201", "BRK-203"]
    (refused,) = index.refused
    assert refused["product_id"] == "BRK-202" and refused["agreement"] == "USMCA"
    assert refused["reason"] == f"cannot write {file_stem('BRK-202', 'USMCA', request)}.html: Is a directory"
    assert not (out / f"{file_stem('BRK-202', 'USMCA', request)}.json").exists()  # no file the index does not list
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == sorted(
        [c[k] for c in index.certified for k in ("json", "html")] + ["index.html", "index.json"])


def test_an_output_that_cannot_be_written_is_an_error_not_a_traceback(tmp_path):
    args = ["certify", str(PAPERWORK / "certified-brake.yaml"), "--rules", str(ROOT / "rules"),
            "--profile", str(PAPERWORK / "profile.yaml"), "--as-of", "2026-06-01"]
    folder = tmp_path / "none" / "c.json"
    done = runner.invoke(app, [*args, "--out", str(folder)])
    assert done.exit_code == 2 and done.output == f"error: cannot write `{folder}`: No such file or directory\n"
    a_file = tmp_path / "a-file"
    a_file.write_text("", encoding="utf-8")
    done = runner.invoke(app, [*args, "--out-dir", str(a_file)])
    assert done.exit_code == 2 and done.output == f"error: cannot write into `--out-dir {a_file}`: File exists\n"
