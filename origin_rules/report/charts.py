"""The report's charts, made with plotly.

In: a :class:`~origin_rules.report.aggregate.Portfolio`. Out: plotly figures (and their
HTML ``<div>``, without the plotly.js library, which the page inlines once):

- verdicts: shipments per verdict under each agreement and scenario (stacked bars);
- losses: shipments and products that lose qualification under each scenario;
- headroom: for each agreement and scenario, how far products sit from their RVC/MaxNOM
  thresholds (failing, within 5 points, safe);
- causes: the origins and HS headings of the materials behind failures.

plotly.js reads the text of labels, titles and hover templates as a small HTML dialect
(``<br>``, ``<b>``, entities), so every text from a BOM or a rule file goes through
:func:`_t` first: it then shows as written and cannot add markup. The figures themselves
reach the page as JSON that plotly writes with ``<``, ``>`` and ``/`` escaped, so
:func:`div` is safe markup for the page template.
"""

from __future__ import annotations

import html
from decimal import Decimal

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .aggregate import AT_RISK_POINTS, VERDICT_ORDER, Portfolio, half_up

__all__ = ["COLORS", "causes_figure", "div", "headroom_figure", "losses_figure", "verdicts_figure"]

COLORS = {
    "qualifies": "#2e7d32",
    "does_not_qualify": "#c62828",
    "insufficient_data": "#f9a825",
    "no_rule": "#9e9e9e",
    "at_risk": "#ef6c00",
    "accent": "#1f4e79",
}
LABELS = {"qualifies": "qualifies", "does_not_qualify": "does not qualify",
          "insufficient_data": "insufficient data", "no_rule": "no rule"}
FONT = dict(family="Segoe UI, Helvetica Neue, Arial, sans-serif", size=13, color="#1d2733")
BIN = 2.5


def _n(count: int, one: str, many: str | None = None) -> str:
    """``1 shipment``, ``2 shipments``: hover texts are written out here, since a plotly
    template cannot choose the singular."""
    return f"{count:,} {one if count == 1 else (many or one + 's')}"
LOW, HIGH = -30.0, 50.0


def _t(text: object) -> str:
    """Text from a BOM or a rule file, escaped for plotly's label dialect (``%`` too, so it
    cannot be read as a ``%{...}`` placeholder of a hover template)."""
    return html.escape(str(text), quote=False).replace("%", "&#37;")


def _layout(fig: go.Figure, height: int, **extra) -> go.Figure:
    fig.update_layout(
        template="plotly_white", font=FONT, height=height, bargap=0.25,
        margin=dict(l=10, r=20, t=56, b=40),
        legend=dict(orientation="h", yref="container", yanchor="top", y=0.995, x=0, traceorder="normal"),
        **extra,
    )
    return fig


def _wrap(name: str, width: int = 28) -> str:
    """Long agreement names on two lines for axis labels (escaped, see :func:`_t`)."""
    if len(name) <= width or ": " not in name:
        return _t(name)
    head, _, tail = name.partition(": ")
    return f"{_t(head)}:<br>{_t(tail)}"


def verdicts_figure(p: Portfolio) -> go.Figure:
    names = list(reversed(p.names))
    fig = go.Figure()
    for verdict in VERDICT_ORDER:
        counts = [p.verdicts[n].get(verdict, 0) for n in names]
        if not any(counts):
            continue
        totals = [sum(p.verdicts[n].values()) or 1 for n in names]
        said = [f"{_n(c, 'shipment')} ({half_up(Decimal(100 * c) / t, 0)}%)" for c, t in zip(counts, totals)]
        fig.add_bar(
            y=[_wrap(n) for n in names], x=counts, orientation="h", name=LABELS[verdict],
            marker_color=COLORS[verdict], customdata=said, text=[f"{c:,}" if c else "" for c in counts],
            textposition="inside", insidetextanchor="middle",
            hovertemplate="%{y}<br>" + LABELS[verdict] + ": %{customdata}<extra></extra>",
        )
    fig.update_xaxes(title_text="shipments", separatethousands=True)
    return _layout(fig, 90 + 48 * len(names), barmode="stack")


def losses_figure(p: Portfolio) -> go.Figure:
    names = list(reversed(p.scenarios))
    shipments = [p.loss_shipments.get(n, 0) for n in names]
    products = [len(p.losses.get(n, {})) for n in names]
    fig = go.Figure()
    fig.add_bar(
        y=[_wrap(n) for n in names], x=shipments, orientation="h", name="shipments",
        marker_color=COLORS["does_not_qualify"],
        customdata=[f"{_n(s, 'shipment')}, {_n(c, 'product')} {'loses' if c == 1 else 'lose'} qualification"
                    for s, c in zip(shipments, products)],
        text=[f"{_n(s, 'shipment')} · {_n(c, 'product')}" if s else
              ("none" if p.base_of[n] in p.verdicts else f"not known: {p.base_of[n]} not evaluated")
              for n, s, c in zip(names, shipments, products)],
        textposition=["auto" if s else "outside" for s in shipments], cliponaxis=False,
        hovertemplate="%{y}<br>%{customdata}<extra></extra>",
    )
    fig.update_xaxes(title_text="shipments that qualify under the agreement but not under the scenario", separatethousands=True)
    return _layout(fig, 90 + 52 * max(1, len(names)), showlegend=False)


def _bins(margins: list[Decimal]) -> tuple[list[float], list[int], list[int], list[int]]:
    n = int((HIGH - LOW) / BIN)
    centers = [LOW + BIN * (i + 0.5) for i in range(n)]
    fail, risk, safe = [0] * n, [0] * n, [0] * n
    for m in margins:
        x = min(max(float(m), LOW), HIGH - 1e-9)
        i = int((x - LOW) // BIN)
        if m < 0:
            fail[i] += 1
        elif m < AT_RISK_POINTS:
            risk[i] += 1
        else:
            safe[i] += 1
    return centers, fail, risk, safe


def headroom_figure(p: Portfolio) -> go.Figure | None:
    by_name: dict[str, list[Decimal]] = {}
    for threshold in p.own_thresholds():
        by_name.setdefault(threshold.agreement, []).extend(p.margins[threshold].values())
    names = [n for n in p.names if by_name.get(n)]
    if not names:
        return None
    fig = make_subplots(rows=len(names), cols=1, shared_xaxes=True, vertical_spacing=0.3 / len(names),
                        subplot_titles=[f"{_t(n)}  ({len(by_name[n]):,})" for n in names])
    groups = (("below the threshold", "does_not_qualify"), (f"within {AT_RISK_POINTS} points", "at_risk"), ("safe", "qualifies"))
    shapes = []
    for row, name in enumerate(names, 1):
        centers, *series = _bins(by_name[name])
        for (label, color), counts in zip(groups, series):
            fig.add_bar(
                x=centers, y=counts, name=label, marker_color=COLORS[color], width=BIN * 0.92,
                legendgroup=label, showlegend=row == 1, row=row, col=1,
                customdata=[_n(c, "product") for c in counts],
                hovertemplate=f"{_t(name)}<br>" + "margin %{x:+.1f} points: %{customdata} " + label + "<extra></extra>",
            )
        # the band within AT_RISK_POINTS of the threshold and the line at it, over the row's
        # whole height: the shapes add_vrect and add_vline make, given at once (those two
        # walk every subplot for each call: 0.3 s of a report's 0.5 s of charts)
        sub = fig.get_subplot(row, 1)
        x, y = sub.xaxis.plotly_name.replace("axis", ""), sub.yaxis.plotly_name.replace("axis", "")
        shapes.append(dict(type="rect", x0=0, x1=float(AT_RISK_POINTS), xref=x, y0=0, y1=1, yref=f"{y} domain",
                           fillcolor=COLORS["at_risk"], opacity=0.08, line=dict(width=0)))
        shapes.append(dict(type="line", x0=0, x1=0, xref=x, y0=0, y1=1, yref=f"{y} domain", line=dict(color="#444", width=1)))
    fig.update_layout(shapes=shapes)
    fig.update_xaxes(range=[LOW, HIGH], dtick=10, ticksuffix=" pts")
    fig.update_xaxes(title_text=f"margin to threshold, percentage points (clipped to {LOW:.0f}..{HIGH:.0f})", row=len(names), col=1)
    fig.update_yaxes(rangemode="tozero", separatethousands=True)
    fig.update_annotations(font=dict(size=13, color="#1d2733"), xanchor="left", x=0)
    return _layout(fig, 80 + 150 * len(names), barmode="stack")


def causes_figure(p: Portfolio, describe=None) -> go.Figure | None:
    if not p.origins and not p.headings:
        return None
    origins = p.origins.most_common(10)[::-1]
    headings = p.headings.most_common(10)[::-1]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.22,
                        subplot_titles=["origin of the materials behind failures", "HS heading of the materials behind failures"])

    def label(heading: str) -> str:
        text = describe(heading) if describe else None
        if not text:
            return _t(heading)
        # the description cut at a length, never at its first `;` (87.08 is "Motor vehicles;
        # parts and accessories ...", not motor vehicles)
        return _t(f"{heading} {text[:34]}{'…' if len(text) > 34 else ''}")

    fig.add_bar(y=[_t(o) for o, _ in origins], x=[c for _, c in origins], orientation="h",
                marker_color=COLORS["accent"], row=1, col=1, text=[f"{c:,}" for _, c in origins], textposition="auto",
                customdata=[_n(c, "failure") for _, c in origins],
                hovertemplate="origin %{y}: among the causes of %{customdata}<extra></extra>")
    fig.add_bar(y=[label(h) for h, _ in headings], x=[c for _, c in headings], orientation="h",
                marker_color="#5b7fa6", row=1, col=2, text=[f"{c:,}" for _, c in headings], textposition="auto",
                customdata=[_n(c, "failure") for _, c in headings],
                hovertemplate="%{y}: among the causes of %{customdata}<extra></extra>")
    fig.update_xaxes(title_text="failures (shipment × agreement or scenario)", separatethousands=True)
    fig.update_annotations(font=dict(size=13, color="#1d2733"))
    return _layout(fig, 90 + 34 * max(len(origins), len(headings), 3), showlegend=False)


def div(fig: go.Figure, name: str) -> str:
    """The figure as an HTML fragment; the page loads plotly.js once. Safe markup: the
    ``div_id`` is ``chart-`` and a name of the page's own, and plotly writes the figure's
    JSON with ``<``, ``>`` and ``/`` as ``\\u`` escapes (every text in it passed :func:`_t`)."""
    if not name.isidentifier():
        raise ValueError(f"chart name {name!r}: letters, digits and _ only")
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{name}",
                       config={"displaylogo": False, "responsive": True, "displayModeBar": False})
