"""A last, domain-aware shrinking pass over a counterexample BOM.

In: a BOM that hypothesis already shrank, and a predicate saying whether a candidate is
still a counterexample of the same kind. Out: the smallest BOM the passes below reach that
still satisfies the predicate (the input itself when nothing can go).

Hypothesis shrinks the choices that built a BOM; some simplifications need several choices
to move at once (two materials of 99.00 that together break a 10% cap are one material of
198.00). These passes work on the BOM itself, greedily, each kept only if the predicate
still holds: merge materials that differ only by value (summing values and weights), drop
materials, drop facts (end use, processes, wholly obtained), drop product figures nobody
reads, and use round figures for the values where a round one still works.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Callable

from ..model.bom import BOM, BomError, bom_from_data
from .nodes import EXACT

MAX_STEPS = 400


def simplify(bom: BOM, still: Callable[[BOM], bool], *, renumber: bool = True) -> BOM:
    """Greedy passes until none applies (or the step budget runs out). ``renumber``: name
    the remaining materials M1, M2... (for generated BOMs; a user's BOM keeps its ids)."""
    data = json.loads(bom.to_json())
    steps = [0]

    def accept(candidate: dict) -> bool:
        if steps[0] >= MAX_STEPS:
            return False
        steps[0] += 1
        try:
            made = bom_from_data(candidate)
        except BomError:
            return False
        return still(made)

    changed = True
    while changed and steps[0] < MAX_STEPS:
        changed = False
        for simplification in (_merge, _drop_material, _drop_fact, _drop_figure, _round_value):
            for candidate in simplification(data):
                if accept(candidate):
                    data = candidate
                    changed = True
                    break
    return bom_from_data(_renumber(data) if renumber else data)


def _copy(data: dict) -> dict:
    return json.loads(json.dumps(data))


def _renumber(data: dict) -> dict:
    for i, m in enumerate(data.get("materials", [])):
        m["id"] = f"M{i + 1}"
        for k, sub in enumerate(m.get("materials", [])):
            sub["id"] = f"M{i + 1}.{k + 1}"
    return data


def _merge(data: dict):
    materials = data.get("materials", [])
    for i in range(len(materials)):
        for j in range(i + 1, len(materials)):
            a, b = materials[i], materials[j]
            if "materials" in a or "materials" in b:
                continue
            same = {k: v for k, v in a.items() if k not in ("id", "value", "weight_kg")} == \
                   {k: v for k, v in b.items() if k not in ("id", "value", "weight_kg")}
            if not same:
                continue
            out = _copy(data)
            merged = out["materials"][i]
            for key in ("value", "weight_kg"):
                if key in a and key in b:
                    merged[key] = str(Decimal(a[key]) + Decimal(b[key]))
            del out["materials"][j]
            yield out


def _drop_material(data: dict):
    """Each material in turn, then each material of a sub-assembly (one level down)."""
    materials = data.get("materials", [])
    for i in range(len(materials)):
        out = _copy(data)
        del out["materials"][i]
        yield out
    for i, m in enumerate(materials):
        for k in range(len(m.get("materials", [])) if len(m.get("materials", [])) > 1 else 0):
            out = _copy(data)
            del out["materials"][i]["materials"][k]
            yield out


def _drop_fact(data: dict):
    for key in ("wholly_obtained", "end_use", "processes", "description"):
        if key in data["product"]:
            out = _copy(data)
            del out["product"][key]
            yield out


def _drop_figure(data: dict):
    for key in ("ex_works", "fob", "total_cost", "weight_kg", "net_cost", "transaction_value", "currency"):
        if key in data["product"]:
            out = _copy(data)
            del out["product"][key]
            yield out


def digits(value: Decimal) -> int:
    """Significant digits: how round a number is (198 -> 3, 200 -> 1, 0 -> 0)."""
    return 0 if value == 0 else len(value.normalize(EXACT).as_tuple().digits)


def _round_value(data: dict):
    """A material value moved to a strictly rounder one nearby (hundreds, tens, units)."""
    for i, m in enumerate(data.get("materials", [])):
        if "value" not in m or "materials" in m:
            continue
        value = Decimal(m["value"])
        for step in (Decimal(1000), Decimal(100), Decimal(10), Decimal(1)):
            low = (value / step).to_integral_value(rounding="ROUND_FLOOR") * step
            for candidate in (low, low + step):
                if digits(candidate) < digits(value):
                    out = _copy(data)
                    out["materials"][i]["value"] = format(candidate, "f")
                    yield out
