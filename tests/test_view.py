"""The engine's view of a BOM (engine/view.py): each material line's ``Part`` (made with
positional values, for speed) holds what the material says, field by field by name."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

from origin_rules.batch.sample import product_bom
from origin_rules.engine.view import Part, good_of_bom
from origin_rules.files.boms import read_bom
from origin_rules.model.bom import bom_from_data
from origin_rules.model.hs import HsCode

ROOT = Path(__file__).resolve().parent.parent


def boms():
    out = [read_bom(p) for p in sorted((ROOT / "examples" / "boms").glob("*.yaml"))]
    out += [bom_from_data(product_bom(p, v)) for p in range(0, 2000, 100) for v in range(2)]
    # a sub-assembly, an unknown origin, a line without a code, packing for shipment
    data = json.loads(out[0].to_json())
    data["materials"][0]["materials"] = [dict(data["materials"][1], id="inner", materials=[], origin="unknown", hs=None)]
    data["materials"].append(dict(data["materials"][1], id="crate", kind="shipping_packing", materials=[]))
    out.append(bom_from_data(data))
    # plain lines (no declared facts: the view writes their flag fact itself) of every kind of value
    plain = product_bom(7)
    lines = plain["materials"]
    lines[0].update(provided_as_part=True)
    lines[1].update(kind="indirect", originating=None)
    lines[2].update(origin="unknown", hs=None)
    lines[3].update(weight_kg="2.5", polymer_weight_kg="1.5", originating=True)
    lines[4].update(kind="shipping_packing")
    lines[5].update(facts={"cut_and_sewn": "yes"})  # beside them, a line with facts
    out.append(bom_from_data(plain))
    return out


def expected(material, path: str, within) -> dict:
    code = HsCode(material.hs.replace(".", "")) if material.hs else None
    return {
        "id": material.id, "path": path, "hs": code,
        "origin": None if material.origin in (None, "", "unknown") else material.origin,
        "declared": material.originating, "value": material.value, "weight": material.weight_kg,
        "kind": material.kind, "source": material,
        "originating": material.kind == "indirect" or material.originating is True,
        "sub": None, "facts": material.all_facts(), "within": within,
        "polymer_weight": material.polymer_weight_kg,
    }


def check(parts: tuple[Part, ...], materials, prefix: str, within) -> None:
    kept = [(i, m) for i, m in enumerate(materials) if m.kind != "shipping_packing"]
    assert len(parts) == len(kept)
    for part, (i, material) in zip(parts, kept):
        path = f"{prefix}[{i}]"
        want = expected(material, path, within)
        got = {name: getattr(part, name) for name in want}
        assert got == want, path
        assert part.source is material
        check(part.parts, material.materials, f"{path}.materials", want["hs"])


@pytest.mark.parametrize("bom", boms(), ids=lambda b: b.product.id)
def test_each_part_holds_what_its_material_says(bom):
    good = good_of_bom(bom)
    product_code = HsCode(bom.product.hs.replace(".", "")) if bom.product.hs else None
    check(good.parts, bom.materials, "materials", product_code)


def test_field_paths_by_index_grow_as_longer_lists_come():
    """The top-level lines' paths are kept by index and made longer when a longer list comes
    (a new tuple each time: threads evaluating at once never see one half made)."""
    from origin_rules.engine import view

    view._TOP_PATHS = ()
    for n in (3, 1, 20, 7, 45, view._MAX_TOP_PATHS, view._MAX_TOP_PATHS + 2):
        paths = view._paths("materials", n)
        assert [paths[i] for i in range(n)] == [f"materials[{i}]" for i in range(n)]
    assert list(view._paths("materials[2].materials", 3)) == [f"materials[2].materials[{i}]" for i in range(3)]
    assert len(view._TOP_PATHS) <= view._MAX_TOP_PATHS
    data = product_bom(3, materials=45)
    good = good_of_bom(bom_from_data(data))
    assert [p.path for p in good.parts] == [f"materials[{i}]" for i in range(45)]


def test_a_view_dropped_by_another_thread_between_look_up_and_reuse_is_still_returned(monkeypatch):
    """The view cache is shared by the service's threads: a view found, then dropped by
    another thread before it is marked as recently used, is still the BOM's view."""
    from collections import OrderedDict

    from origin_rules.engine import view

    bom = bom_from_data(product_bom(11))
    first = good_of_bom(bom)

    class Racing(OrderedDict):
        def move_to_end(self, key, last=True):
            self.pop(key)  # what another thread's eviction does meanwhile
            return super().move_to_end(key, last)

    monkeypatch.setattr(view, "_CACHE", Racing(view._CACHE))
    assert good_of_bom(bom) is first


def test_bom_objects_are_released_soon_after_their_evaluations(shipped_rulebook):
    """The per-BOM memos (this view cache, the rulebook's) keep only the last few BOM objects
    (``RECENT_BOMS``): a batch's BOM is freed while its memory is still warm, not 256 BOMs
    later. Each BOM goes through every path that remembers it: verdict, outcome, evaluate
    under every applicable agreement, and a batch's judge."""
    from datetime import date

    from origin_rules.batch.judge import judge
    from origin_rules.engine.view import RECENT_BOMS
    from origin_rules.model.bom import BOM

    book = shipped_rulebook
    on = date(2026, 6, 1)
    count = 3 * RECENT_BOMS + 10
    for i in range(count):
        data = product_bom(i)
        data["product"]["id"] = f"released-{i}"
        bom = bom_from_data(data)
        for name in book.applicable(bom):
            book.verdict(bom, name, on)
            book.outcome(bom, name, on)
        book.evaluate_all(bom, as_of=on)
        judge(book, bom, None, on)
        del bom
    gc.collect()
    alive = sorted(int(o.product.id.split("-")[1]) for o in gc.get_objects()
                   if isinstance(o, BOM) and o.product.id.startswith("released-"))
    assert len(alive) <= RECENT_BOMS, alive
    assert all(i >= count - RECENT_BOMS for i in alive), alive  # the last ones only
