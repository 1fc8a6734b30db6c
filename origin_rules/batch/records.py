"""The batch output record: one per input record, as JSON Lines or CSV.

In: what a worker found for one input record (the determinations under each agreement or
scenario, or the problems that kept it from being read) and where the record came from.
Out: text. A record is rendered in two parts: the *tail* (everything that depends only on
the record's content, so identical BOMs share it and it can be cached and reused) and the
*head* (``source``, ``position``, ``line``), added for each record by the writer.

JSON Lines, one object per input record, in input order::

    {"source": "shipments.jsonl",   # the input file
     "position": 17,                # JSON Lines/CSV: line (first row); XLSX: row;
                                    # YAML/JSON list: index; 0 for a file holding one BOM
     "line": 17,                    # line (or sheet row) of the record, when known
     "product_id": "BRK-100", "hs": "8708.30", "produced_in": "MX",
     "determinations": [            # one per agreement or scenario (--under, or every one
       {"agreement": "USMCA",       # whose parties include the country of production)
        "verdict": "qualifies",     # qualifies | does_not_qualify | insufficient_data | no_rule
        "base": "USMCA",            # scenarios only: the agreement the scenario modifies
        "rule": "8708.30",          # the product-specific rule applied
        "figures": {"vnm": "150.00", "rvc_net_cost": "82.35"},   # VNM, RVC_*, MAX_NOM_*
        "thresholds": [             # each threshold tested, once: RVC, MaxNOM, value limits
          {"figure": "rvc_net_cost", "value": "82.35", "threshold": "70",
           "comparison": ">=", "margin": "12.35", "holds": true}],
        "warnings": [               # only when there are some: what to check in the BOM
          {"code": "BOM104", "path": "materials[2].originating",   # (docs/errors.md)
           "message": "declared originating under USMCA but its origin CN is not a party ..."}],
        # when the verdict is not `qualifies`:
        "criterion": "product_specific_rule", "rule_source": "rules/usmca/FILE.roo:LINE",
        "reason": "value(non_originating and origin in non_market) <= 10% of ...",
        "missing": ["product.net_cost"],            # insufficient_data: fields needed
        "causes": [                                 # does_not_qualify: the materials behind it
          {"id": "PAD-1", "hs": "6813.81", "origin": "CN", "value": "150.00",
           "reason": "..."}]}]}

A record that cannot be read or is not a valid BOM::

    {"source": "shipments.jsonl", "position": 18, "line": 18, "product_id": "BRK-101",
     "error": {"problems": [{"path": "materials[3].value", "line": 18,
                             "message": "expected a decimal number like \\"120.00\\", got \\"12,5\\""}]}}

``warnings`` are the determination's warnings about its BOM, as ``origin-rules evaluate``
gives them (codes ``BOM1xx`` of ``docs/errors.md``, "BOM input"); the key is left out when
there are none. With ``--verdicts-only`` a qualifying good carries no figures, so a
negative RVC (``BOM106``) is not looked for; the other warnings are.

Figures are exact decimals as text. ``margin`` is in points for percentages (RVC, MaxNOM)
and in money or kg for value and weight limits; it is positive when there is room left.
``causes`` lists the materials that failed a tariff shift or that a failing criterion
names (e.g. the Chinese materials over a China-content cap); when a failure names no
material (an RVC too low) it lists the largest non-originating materials, with the
reason ``non-originating value``.

CSV: the same, flattened. Columns ``source, position, line, product_id, hs, produced_in,
error``, then for each agreement or scenario NAME (``--under``, or every one in the
rulebook, empty where it does not apply): ``NAME.verdict``, ``NAME.vnm``, ``NAME.figures``
(``name=value; ...``), ``NAME.thresholds`` (``rvc_net_cost 82.35 >= 70 (margin 12.35)``),
``NAME.reason``, ``NAME.missing``, ``NAME.causes`` (``PAD-1 6813.81 CN 150.00; ...``),
``NAME.warnings`` (``path: message [BOM104]`` for each warning, joined by `` | ``).
``error`` is ``path: message (line N)`` for each problem, joined by `` | ``.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Iterable, Sequence

from orjson import dumps as _orjson_dumps

__all__ = ["CSV_ENTRY_FIELDS", "Renderer", "compact_json", "csv_header", "error_problems"]

CSV_ENTRY_FIELDS = ("verdict", "vnm", "figures", "thresholds", "reason", "missing", "causes", "warnings")

# A problem as the worker hands it over: path, message, and its line relative to the
# record's first line (so that identical records at other lines can share the result).
RelProblem = tuple[str, str, int | None]


def error_problems(problems: Iterable[RelProblem], line: int | None) -> list[dict[str, Any]]:
    """Problems with absolute lines, for a record that starts at ``line``."""
    out = []
    for path, message, offset in problems:
        at = None if offset is None or line is None else line + offset
        out.append({"path": path, "message": message, "line": at})
    return out


def csv_header(names: Sequence[str]) -> list[str]:
    head = ["source", "position", "line", "product_id", "hs", "produced_in", "error"]
    return head + [f"{name}.{field}" for name in names for field in CSV_ENTRY_FIELDS]


def _csv_line(cells: list[Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(cells)
    return buf.getvalue()


def _threshold_text(t: dict[str, Any]) -> str:
    return f"{t['figure']} {t['value']} {t['comparison']} {t['threshold']} (margin {t['margin']})"


def _cause_text(c: dict[str, Any]) -> str:
    return " ".join(str(c.get(k)) for k in ("id", "hs", "origin", "value") if c.get(k) is not None)


def _warning_text(w: dict[str, Any]) -> str:
    return (f"{w['path']}: " if w.get("path") else "") + f"{w['message']} [{w['code']}]"


def _csv_cells(entry: dict[str, Any]) -> list[str]:
    figures = entry.get("figures", {})
    return [
        entry["verdict"],
        figures.get("vnm", ""),
        "; ".join(f"{k}={v}" for k, v in figures.items()),
        "; ".join(_threshold_text(t) for t in entry.get("thresholds", ())),
        entry.get("reason", ""),
        "; ".join(entry.get("missing", ())),
        "; ".join(_cause_text(c) for c in entry.get("causes", ())),
        " | ".join(_warning_text(w) for w in entry.get("warnings", ())),
    ]


def compact_json(value: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, separators=(",", ":"))``, the same text, made by
    orjson (five times faster on a record's determinations: a tenth of a batch's work under
    every applicable agreement); ``json`` itself for what orjson refuses (a lone surrogate,
    an integer beyond 64 bits), so that nothing changes but the speed. For values of text,
    integers, booleans, null, lists and mappings with text keys: a batch record has no
    binary float (the two libraries write some floats differently)."""
    try:
        return _orjson_dumps(value).decode("utf-8")
    except TypeError:  # (orjson.JSONEncodeError is one)
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Renderer:
    """Renders record tails and heads for one output format (``jsonl`` or ``csv``).

    ``names`` are the agreement/scenario columns of the CSV layout (unused for JSON Lines).
    """

    def __init__(self, fmt: str, names: Sequence[str]):
        if fmt not in ("jsonl", "csv"):
            raise ValueError(f"unknown output format {fmt!r}")
        self.fmt = fmt
        self.names = list(names)
        self._column = {name: i for i, name in enumerate(self.names)}
        self._sources: dict[str, str] = {}

    # ---- the part shared by identical records -----------------------------------------------

    def tail(self, product_id: str, hs: str | None, produced_in: str | None, entries: list[dict[str, Any]]) -> str:
        if self.fmt == "jsonl":
            body = {"product_id": product_id, "hs": hs, "produced_in": produced_in, "determinations": entries}
            return compact_json(body)[1:-1]
        cells: list[str] = [product_id, hs or "", produced_in or "", ""]
        per = [[""] * len(CSV_ENTRY_FIELDS) for _ in self.names]
        for entry in entries:
            index = self._column.get(entry["agreement"])
            if index is not None:
                per[index] = _csv_cells(entry)
        for block in per:
            cells.extend(block)
        return _csv_line(cells)

    def error_tail(self, product_id: str | None, problems: list[dict[str, Any]]) -> str:
        if self.fmt == "jsonl":
            body = {"product_id": product_id, "error": {"problems": problems}}
            return compact_json(body)[1:-1]
        text = " | ".join(
            (f"{p['path']}: " if p["path"] else "") + p["message"] + (f" (line {p['line']})" if p["line"] else "")
            for p in problems
        )
        return _csv_line([product_id or "", "", "", text] + [""] * (len(CSV_ENTRY_FIELDS) * len(self.names)))

    # ---- the part of each record ------------------------------------------------------------

    def header(self) -> str:
        return _csv_line(csv_header(self.names)) + "\n" if self.fmt == "csv" else ""

    def line(self, source: str, position: int, line: int | None, tail: str) -> str:
        """One complete output line (with its newline)."""
        src = self._sources.get(source)
        if src is None:
            if self.fmt == "jsonl":
                src = self._sources[source] = '{"source":' + json.dumps(source, ensure_ascii=False)
            else:
                src = self._sources[source] = _csv_line([source])
        at = "null" if line is None else str(line)
        if self.fmt == "jsonl":
            return f'{src},"position":{position},"line":{at},{tail}}}\n'
        return f"{src},{position},{'' if line is None else line},{tail}\n"
