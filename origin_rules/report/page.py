"""The impact report as one self-contained HTML page (opens offline).

In: a :class:`~origin_rules.report.aggregate.Portfolio`. Out: HTML5 text: headline
figures, then one section per question a compliance lead asks (verdicts per agreement and
scenario; who loses qualification under each scenario and why; how close products sit to
their RVC thresholds; which origins and HS headings cause the failures; which verdicts rest
on input an analyst must check (the warnings of ``docs/errors.md``, BOM input); which
records could not be read). The plotly.js library is inlined once in the page, so the file needs
no network; the page passes a strict HTML5 parse (tests/test_report.py).
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timezone
from statistics import median

from .. import __version__
from ..model.hs import HsCode, nomenclature
from . import charts
from .aggregate import AT_RISK_POINTS, VERDICT_ORDER, Portfolio, Threshold

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


def _e(text) -> str:
    return html.escape(str(text), quote=True)


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
    return f"{100 * part / whole:.1f}%" if whole else "–"


def _card(value: str, label: str, tone: str = "") -> str:
    return f'<div class="card {tone}"><div class="value">{_e(value)}</div><div class="label">{_e(label)}</div></div>'


def _cards(p: Portfolio) -> str:
    cards = [_card(f"{p.records:,}", "shipment (record)" if p.records == 1 else "shipments (records)"),
             _card(f"{len(p.products):,}", "distinct product" if len(p.products) == 1 else "distinct products")]
    for name in p.names:
        if name in p.base_of:
            continue
        total = sum(p.verdicts[name].values())
        cards.append(_card(_pct(p.verdicts[name]["qualifies"], total), f"of shipments qualify under {name}", "ok"))
    if p.scenarios:
        worst = max(p.scenarios, key=lambda n: p.loss_shipments.get(n, 0))
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
    return '<div class="cards">' + "".join(cards) + "</div>"


def _table(head: list[tuple[str, bool]], rows: list[list[str]]) -> str:
    """``head``: (title, numeric); cells are HTML already."""
    th = "".join(f'<th{" class=num" if num else ""}>{_e(t)}</th>' for t, num in head)
    body = "".join(
        "<tr>" + "".join(f'<td{" class=num" if head[i][1] else ""}>{c}</td>' for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _verdict_section(p: Portfolio) -> str:
    head = [("agreement / scenario", False)] + [(charts.LABELS[v], True) for v in VERDICT_ORDER] + [("products qualifying", True)]
    rows = []
    for name in p.names:
        counts = p.verdicts[name]
        products = p.product_counts(name)
        kind = f' <span class="more">scenario of {_e(p.base_of[name])}</span>' if name in p.base_of else ""
        rows.append([f"{_e(name)}{kind}"] + [f"{counts.get(v, 0):,}" for v in VERDICT_ORDER]
                    + [f"{products.get('qualifies', 0):,} of {sum(products.values()):,}"])
    return (
        '<section id="verdicts"><h2>Verdicts per agreement and scenario</h2>'
        '<p class="lead">Every shipment is evaluated under each agreement and scenario whose parties include its '
        "country of production. Bars count shipments; the table also counts distinct products.</p>"
        + charts.div(charts.verdicts_figure(p), "verdicts") + _table(head, rows) + "</section>"
    )


def _causes_text(causes) -> str:
    parts = []
    for c in causes[:4]:
        bits = [c.get("id"), c.get("hs"), c.get("origin"), c.get("value")]
        parts.append("<code>" + _e(" ".join(str(b) for b in bits if b)) + "</code>")
    more = f' <span class="more">+{len(causes) - 4}</span>' if len(causes) > 4 else ""
    return ", ".join(parts) + more


def _loss_section(p: Portfolio) -> str:
    if not p.scenarios:
        return ""
    out = ['<section id="losses"><h2>Products that lose qualification under each scenario</h2>'
           '<p class="lead">A product loses qualification when it qualifies under the agreement but not under the '
           "scenario layered on it. The reason is the first failing step of the scenario's determination; the "
           "materials are those behind the failure (id, HS code, origin, value).</p>",
           charts.div(charts.losses_figure(p), "losses")]
    for name in p.scenarios:
        losses = sorted(p.losses.get(name, {}).values(), key=lambda x: (-x.shipments, x.product_id))
        shipments = p.loss_shipments.get(name, 0)
        out.append(f"<h3>{_e(name)}</h3>")
        if not losses:
            out.append(f'<p class="more">No product loses qualification under {_e(p.base_of[name])} with this scenario.</p>')
            continue
        verb = "qualifies" if len(losses) == 1 else "qualify"
        out.append(f'<p class="more">{_n(len(losses), "product")} ({_n(shipments, "shipment")}) {verb} under '
                   f"{_e(p.base_of[name])} but not under this scenario.</p>")
        rows = []
        for loss in losses[:MAX_LOSS_ROWS]:
            color = charts.COLORS.get(loss.verdict, "#777")
            pill = f'<span class="pill" style="background:{color}">{_e(charts.LABELS.get(loss.verdict, loss.verdict))}</span>'
            rows.append([_e(loss.product_id), _e(loss.hs or ""), f"{loss.shipments:,}", pill,
                         _e(loss.reason), _causes_text(loss.causes)])
        out.append(_table([("product", False), ("HS", False), ("shipments", True), ("verdict", False),
                           ("why", False), ("materials behind it", False)], rows))
        if len(losses) > MAX_LOSS_ROWS:
            out.append(f'<p class="more">… and {_n(len(losses) - MAX_LOSS_ROWS, "more product")} (see the batch output).</p>')
    out.append("</section>")
    return "".join(out)


def _headroom_section(p: Portfolio) -> str:
    fig = charts.headroom_figure(p)
    if fig is None:
        return ""
    thresholds: list[Threshold] = sorted(p.own_thresholds(), key=lambda t: (-len(p.margins[t]), p.names.index(t.agreement), t.label))
    rows = []
    for t in thresholds[:MAX_THRESHOLD_ROWS]:
        tested, failing, close = p.at_risk(t)
        mid = median(p.margins[t].values())
        rows.append([_e(t.agreement), _e(t.label), f"{tested:,}", f"{failing:,}", f"{close:,}", f"{mid:+.2f}"])
    more = (f'<p class="more">… and {_n(len(thresholds) - MAX_THRESHOLD_ROWS, "more threshold")}.</p>'
            if len(thresholds) > MAX_THRESHOLD_ROWS else "")
    return (
        '<section id="headroom"><h2>Headroom to regional value content thresholds</h2>'
        f'<p class="lead">How far each product sits from each RVC (or MaxNOM) threshold it is tested against, in '
        f"percentage points: below 0 it misses the threshold, 0 to {AT_RISK_POINTS} points is at risk (a small price "
        "or sourcing change could fail it). One count per product and threshold. A product below one threshold may "
        "still qualify through another alternative of its rule (e.g. a tariff shift). A scenario is shown only "
        "where it changes the thresholds of its agreement.</p>"
        + charts.div(fig, "headroom")
        + _table([("agreement / scenario", False), ("threshold", False), ("products", True), ("below", True),
                  (f"within {AT_RISK_POINTS} points", True), ("median margin", True)], rows)
        + more + "</section>"
    )


def _causes_section(p: Portfolio) -> str:
    fig = charts.causes_figure(p, _describe)
    if fig is None:
        return ""
    return (
        '<section id="causes"><h2>What causes the failures</h2>'
        '<p class="lead">Origins and HS headings of the materials named as the cause of each failure (a material '
        "that fails its tariff shift, a material counted against a content cap, or, when a regional value content is "
        "too low, the largest non-originating materials). Counted once per failing shipment and agreement or "
        "scenario.</p>" + charts.div(fig, "causes") + "</section>"
    )


def _warning_section(p: Portfolio) -> str:
    """The verdicts that rest on input an analyst must check: counts per warning code, then
    the first products with each warning, its field path and the agreements it holds under."""
    from ..model.plausibility import TITLES

    head = ('<section id="warnings"><h2>Warnings about the input</h2>'
            '<p class="lead">A warning (codes <code>BOM1xx</code>, see docs/errors.md) marks a BOM that is possible '
            "but unusual: a code deleted in HS 2022, materials worth more than the product, an originating material "
            "from outside the agreement's parties. The verdict is given, but an analyst must confirm the input "
            "before relying on it; <code>batch --strict</code> fails on any of them.</p>")
    if not p.warned_records:
        return head + '<p class="more">None: no BOM carries a warning.</p></section>'
    products = len(p.warned_products)
    summary = (f'<p class="more">{_n(p.warned_records, "shipment")} ({_n(products, "product")}) '
               f'{"carries" if p.warned_records == 1 else "carry"} warnings.</p>')
    codes = sorted(p.warning_codes, key=lambda c: (-p.warning_codes[c], c))
    by_code = _table([("code", False), ("what", False), ("shipments", True), ("products", True)],
                     [[f"<code>{_e(c)}</code>", _e(TITLES.get(c, "")), f"{p.warning_codes[c]:,}",
                       f"{len(p.warning_code_products.get(c, ())):,}"] for c in codes])
    rows = []
    samples = list(p.warned_samples.values())
    for w in samples[:MAX_WARNED_ROWS]:
        lines = []
        for (code, path, message), names in w.warnings.items():
            under = f' <span class="more">(under {_e(", ".join(names))})</span>' if names else ""
            lines.append((f"<code>{_e(path)}</code>: " if path else "") + _e(message) + f" <code>[{_e(code)}]</code>" + under)
        rows.append([_e(w.product_id), _e(w.hs or ""), _e(w.where), f"{w.shipments:,}", "<br>".join(lines)])
    shown = min(len(samples), MAX_WARNED_ROWS)
    more = (f'<p class="more">Showing {shown:,} of {_n(products, "product")} with warnings; every determination '
            "lists its own in <code>warnings</code> in the batch output.</p>")
    return (head + summary + by_code
            + _table([("product", False), ("HS", False), ("first shipment", False), ("shipments", True),
                      ("warnings", False)], rows) + more + "</section>")


def _error_section(p: Portfolio) -> str:
    if not p.errors:
        return ('<section id="errors"><h2>Records that could not be read</h2>'
                '<p class="lead">None: every record was read and evaluated.</p></section>')
    rows = []
    for record in p.error_samples[:MAX_ERROR_ROWS]:
        problems = record.get("error", {}).get("problems", [])
        text = "<br>".join(
            (f"<code>{_e(x.get('path'))}</code>: " if x.get("path") else "") + _e(x.get("message", "")) for x in problems)
        where = f"{record.get('source')}:{record.get('line') if record.get('line') is not None else record.get('position')}"
        rows.append([_e(where), _e(record.get("product_id") or "–"), text])
    more = (f'<p class="more">Showing {len(rows)} of {p.errors:,}; every one is an <code>error</code> record in '
            "the batch output.</p>")
    return ('<section id="errors"><h2>Records that could not be read</h2>'
            f'<p class="lead">{_n(p.errors, "record")} could not be read or {"is not a valid BOM" if p.errors == 1 else "are not valid BOMs"}; '
            f'{"it was" if p.errors == 1 else "they were"} not evaluated.</p>'
            + _table([("where", False), ("product", False), ("problem", False)], rows) + more + "</section>")


def render_page(p: Portfolio, title: str | None = None) -> str:
    title = title or "Rules-of-origin impact report"
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    subtitle = f"{_n(p.records, 'shipment')} · {_n(len(p.products), 'product')} · from {p.source}"
    body = (
        f'<header class="top"><div class="wrap"><h1>{_e(title)}</h1><p>{_e(subtitle)}</p></div></header>'
        f'<main class="wrap">{_cards(p)}{_verdict_section(p)}{_loss_section(p)}{_headroom_section(p)}'
        f"{_causes_section(p)}{_warning_section(p)}{_error_section(p)}</main>"
        f'<footer><div class="wrap">Generated by origin-rules {_e(__version__)} on {_e(now)}. '
        "Scenarios are hypothetical what-if overlays, not law. Charts are interactive: hover for figures.</div></footer>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n"
        f'<script type="text/javascript">{_plotly_js()}</script>\n'
        f"</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
