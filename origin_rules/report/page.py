"""The impact report as one self-contained HTML page (opens offline).

In: a :class:`~origin_rules.report.aggregate.Portfolio`. Out: HTML5 text: headline
figures, then one section per question a compliance lead asks (verdicts per agreement and
scenario; who loses qualification under each scenario and why; how close products sit to
their RVC thresholds; which origins and HS headings cause the failures; which verdicts rest
on input an analyst must check (the warnings of ``docs/errors.md``, BOM input); which
records could not be read). The plotly.js library is inlined once in the page, so the file needs
no network; the page passes a strict HTML5 parse (tests/test_report.py).

The HTML is the Jinja2 template ``templates/page.html``, with autoescaping on: this module
hands it plain values (product ids, descriptions, rule and agreement names, messages), and
the template escapes every one, so nothing from a BOM, a rule file or the batch results can
add markup. The only values passed as ``Markup`` are made here from constants and numbers:
the CSS, plotly.js (``</script`` and characters a parser refuses escaped) and the charts'
``<div>`` (whose texts :mod:`.charts` escapes, and whose JSON plotly escapes).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from functools import cache
from decimal import Decimal
from statistics import median

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from .. import __version__
from ..model.hs import HsCode, nomenclature
from . import charts
from .aggregate import AT_RISK_POINTS, VERDICT_ORDER, Portfolio, Threshold, half_up

__all__ = ["render_page"]

MAX_LOSS_ROWS = 20
MAX_THRESHOLD_ROWS = 20
MAX_ERROR_ROWS = 25
MAX_WARNED_ROWS = 25

# Characters an HTML parser reports as errors even inside <script> (C0/C1 controls and
# noncharacters): written as JavaScript escapes, which mean the same inside strings.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff]")

CSS = """
:root { --ink: #1d2733; --muted: #5c6b7a; --line: #dde3ea; --band: #f4f6f9; --accent: #1f4e79;
        --ok: #2e7d32; --bad: #c62828; --warn: #ef6c00; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 "Segoe UI", "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: #fff; }
header.top { background: var(--accent); color: #fff; padding: 28px 0 24px; }
.wrap { max-width: 1240px; margin: 0 auto; padding: 0 32px; }
header.top h1 { margin: 0 0 4px; font-size: 26px; font-weight: 600; letter-spacing: .2px; }
header.top p { margin: 0; opacity: .85; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap: 14px; margin: 24px 0 8px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; background: #fff; }
.card .value { font-size: 26px; font-weight: 600; line-height: 1.2; }
.card .label { color: var(--muted); font-size: 12.5px; }
.card.bad .value { color: var(--bad); } .card.ok .value { color: var(--ok); } .card.warn .value { color: var(--warn); }
section { margin: 34px 0; }
h2 { font-size: 19px; margin: 0 0 4px; padding-bottom: 6px; border-bottom: 2px solid var(--line); }
h3 { font-size: 15px; margin: 22px 0 6px; }
p.lead { color: var(--muted); margin: 6px 0 12px; max-width: 900px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 4px; font-size: 13px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--band); font-weight: 600; color: #33414f; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) td { background: #fafbfc; }
.pill { display: inline-block; border-radius: 10px; padding: 0 8px; font-size: 12px; color: #fff; white-space: nowrap; }
.more { color: var(--muted); font-size: 12.5px; }
code { font-family: "SFMono-Regular", Consolas, monospace; font-size: 12.5px; }
footer { color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding: 14px 0 30px; margin-top: 40px; }
"""


def _n(count: int, one: str, many: str | None = None) -> str:
    """``1 product``, ``2 products``, ``1,200 shipments``."""
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    js = _BAD_CHARS.sub(lambda m: "\\u%04x" % ord(m.group()), get_plotlyjs())
    return re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)


def _describe(heading: str) -> str | None:
    try:
        return nomenclature().description(HsCode.parse(heading))
    except ValueError:
        return None


def _pct(part: int, whole: int) -> str:
    """A share in percent, rounded half-up to one place as every figure is (1 of 16: 6.3%)."""
    return f"{half_up(Decimal(100 * part) / whole, 1)}%" if whole else "–"


def _card(value: str, label: str, tone: str = "") -> dict:
    return {"value": value, "label": label, "tone": tone}


def _cards(p: Portfolio) -> list[dict]:
    cards = [_card(f"{p.records:,}", "shipment (record)" if p.records == 1 else "shipments (records)"),
             _card(f"{len(p.products):,}", "distinct product" if len(p.products) == 1 else "distinct products")]
    for name in p.names:
        if name in p.base_of:
            continue
        total = sum(p.verdicts[name].values())
        cards.append(_card(_pct(p.verdicts[name]["qualifies"], total), f"of shipments qualify under {name}", "ok"))
    judged = [n for n in p.scenarios if p.base_of[n] in p.verdicts]  # (losses need the agreement's verdicts too)
    if judged:
        worst = max(judged, key=lambda n: p.loss_shipments.get(n, 0))
        lost = p.loss_shipments.get(worst, 0)
        word = "shipment loses" if lost == 1 else "shipments lose"
        cards.append(_card(f"{lost:,}", f"{word} treatment under “{worst}”", "bad" if lost else "ok"))
    close = len({prod for t, m in p.margins.items() for prod, x in m.items() if 0 <= x < AT_RISK_POINTS})
    cards.append(_card(f"{close:,}", f"{'product' if close == 1 else 'products'} within {AT_RISK_POINTS} points "
                       "of an RVC threshold", "warn" if close else ""))
    cards.append(_card(f"{p.warned_records:,}", f"{'shipment' if p.warned_records == 1 else 'shipments'} with "
                       "warnings about the input", "warn" if p.warned_records else "ok"))
    cards.append(_card(f"{p.errors:,}", f"{'record' if p.errors == 1 else 'records'} that could not be read",
                       "bad" if p.errors else "ok"))
    return cards


def _chart(fig, name: str) -> Markup:
    """A chart for the template: markup, since every text in it is escaped (charts._t) and
    plotly writes its JSON with ``<``, ``>`` and ``/`` escaped."""
    return Markup(charts.div(fig, name))


def _verdicts(p: Portfolio) -> dict:
    head = [("agreement / scenario", False)] + [(charts.LABELS[v], True) for v in VERDICT_ORDER] + [("products qualifying", True)]
    rows = []
    for name in p.names:
        counts = p.verdicts[name]
        products = p.product_counts(name)
        rows.append({"name": name, "base": p.base_of.get(name),
                     "counts": [f"{counts.get(v, 0):,}" for v in VERDICT_ORDER],
                     "products": f"{products.get('qualifies', 0):,} of {sum(products.values()):,}"})
    return {"head": head, "rows": rows, "chart": _chart(charts.verdicts_figure(p), "verdicts")}


def _cause_text(cause) -> str:
    """One material behind a failure: id, HS code, origin and value, those it has."""
    return " ".join(str(b) for b in (cause.get("id"), cause.get("hs"), cause.get("origin"), cause.get("value")) if b)


def _losses(p: Portfolio) -> dict | None:
    if not p.scenarios:
        return None
    scenarios = []
    for name in p.scenarios:
        losses = sorted(p.losses.get(name, {}).values(), key=lambda x: (-x.shipments, x.product_id))
        shipments = p.loss_shipments.get(name, 0)
        verb = "qualifies" if len(losses) == 1 else "qualify"
        rows = [{"product": loss.product_id, "hs": loss.hs or "", "shipments": f"{loss.shipments:,}",
                 "color": charts.COLORS.get(loss.verdict, "#777"),
                 "verdict": charts.LABELS.get(loss.verdict, loss.verdict), "reason": loss.reason,
                 "causes": [_cause_text(c) for c in loss.causes[:4]], "more_causes": max(0, len(loss.causes) - 4)}
                for loss in losses[:MAX_LOSS_ROWS]]
        more = (f"… and {_n(len(losses) - MAX_LOSS_ROWS, 'more product')} (see the batch output)."
                if len(losses) > MAX_LOSS_ROWS else "")
        scenarios.append({"name": name, "base": p.base_of[name], "rows": rows, "more": more,
                          "no_base": p.base_of[name] not in p.verdicts,
                          "summary": f"{_n(len(losses), 'product')} ({_n(shipments, 'shipment')}) {verb} under "
                                     f"{p.base_of[name]} but not under this scenario."})
    head = [("product", False), ("HS", False), ("shipments", True), ("verdict", False),
            ("why", False), ("materials behind it", False)]
    return {"chart": _chart(charts.losses_figure(p), "losses"), "head": head, "scenarios": scenarios}


def _headroom(p: Portfolio) -> dict | None:
    fig = charts.headroom_figure(p)
    if fig is None:
        return None
    thresholds: list[Threshold] = sorted(p.own_thresholds(), key=lambda t: (-len(p.margins[t]), p.names.index(t.agreement), t.label))
    rows = []
    for t in thresholds[:MAX_THRESHOLD_ROWS]:
        tested, failing, close = p.at_risk(t)
        mid = median(p.margins[t].values())
        rows.append({"agreement": t.agreement, "threshold": t.label,
                     "figures": [f"{tested:,}", f"{failing:,}", f"{close:,}", f"{half_up(Decimal(mid), 2):+}"]})
    more = (f"… and {_n(len(thresholds) - MAX_THRESHOLD_ROWS, 'more threshold')}."
            if len(thresholds) > MAX_THRESHOLD_ROWS else "")
    head = [("agreement / scenario", False), ("threshold", False), ("products", True), ("below", True),
            (f"within {AT_RISK_POINTS} points", True), ("median margin", True)]
    return {"chart": _chart(fig, "headroom"), "head": head, "rows": rows, "more": more}


def _causes(p: Portfolio) -> dict | None:
    fig = charts.causes_figure(p, _describe)
    return None if fig is None else {"chart": _chart(fig, "causes")}


def _warnings(p: Portfolio) -> dict | None:
    """The verdicts that rest on input an analyst must check: counts per warning code, then
    the first products with each warning, its field path and the agreements it holds under."""
    from ..model.plausibility import TITLES

    if not p.warned_records:
        return None
    products = len(p.warned_products)
    codes = sorted(p.warning_codes, key=lambda c: (-p.warning_codes[c], c))
    samples = list(p.warned_samples.values())
    rows = [{"product": w.product_id, "hs": w.hs or "", "where": w.where, "shipments": f"{w.shipments:,}",
             "warnings": [{"code": code, "path": path, "message": message, "under": ", ".join(names)}
                          for (code, path, message), names in w.warnings.items()]}
            for w in samples[:MAX_WARNED_ROWS]]
    return {
        "summary": f"{_n(p.warned_records, 'shipment')} ({_n(products, 'product')}) "
                   f"{'carries' if p.warned_records == 1 else 'carry'} warnings.",
        "code_head": [("code", False), ("what", False), ("shipments", True), ("products", True)],
        "codes": [{"code": c, "title": TITLES.get(c, ""), "shipments": f"{p.warning_codes[c]:,}",
                   "products": f"{len(p.warning_code_products.get(c, ())):,}"} for c in codes],
        "head": [("product", False), ("HS", False), ("first shipment", False), ("shipments", True), ("warnings", False)],
        "rows": rows, "shown": f"{min(len(samples), MAX_WARNED_ROWS):,}", "products": _n(products, "product"),
    }


def _errors(p: Portfolio) -> dict | None:
    if not p.errors:
        return None
    rows = []
    for record in p.error_samples[:MAX_ERROR_ROWS]:
        problems = record.get("error", {}).get("problems", [])
        line = record.get("line") if record.get("line") is not None else record.get("position")
        rows.append({"where": f"{record.get('source')}:{line}", "product": record.get("product_id") or "–",
                     "problems": [{"path": x.get("path"), "message": x.get("message", "")} for x in problems]})
    lead = (f"{_n(p.errors, 'record')} could not be read or "
            f"{'is not a valid BOM' if p.errors == 1 else 'are not valid BOMs'}; "
            f"{'it was' if p.errors == 1 else 'they were'} not evaluated.")
    return {"lead": lead, "head": [("where", False), ("product", False), ("problem", False)], "rows": rows,
            "total": f"{p.errors:,}"}


def _text_only(value):
    """Every value the template writes: characters an HTML parser refuses (C0/C1 controls,
    noncharacters) become U+FFFD; markup made here (``Markup``) is left as it is."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return _BAD_CHARS.sub("\ufffd", value)
    return value


@cache
def _environment() -> Environment:
    return Environment(loader=PackageLoader("origin_rules.report", "templates"),
                       autoescape=select_autoescape(["html"], default_for_string=True, default=True),
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                       undefined=StrictUndefined, finalize=_text_only)


def render_page(p: Portfolio, title: str | None = None) -> str:
    title = title or "Rules-of-origin impact report"
    return _environment().get_template("page.html").render(
        title=title,
        subtitle=f"{_n(p.records, 'shipment')} · {_n(len(p.products), 'product')} · from {p.source}",
        now=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
        css=Markup(CSS),
        plotly_js=Markup(_plotly_js()),
        at_risk=AT_RISK_POINTS,
        cards=_cards(p),
        verdicts=_verdicts(p),
        losses=_losses(p),
        headroom=_headroom(p),
        causes=_causes(p),
        warnings=_warnings(p),
        errors=_errors(p),
    )
