"""The columns of the flat BOM layout (CSV and XLSX, docs/bom.md), and the one check of a header.

In: a header row's cells, the file and the row's line. Out: the :data:`Column` list
(cell index, ``product`` or ``material``, field) the readers of :mod:`origin_rules.files.boms`
(CSV) and :mod:`origin_rules.files.xlsx` share, or a :class:`~origin_rules.model.bom.BomError`
naming every unknown or repeated column (with the closest known name) and a missing
``product.id``.
"""

from __future__ import annotations

import difflib

from ..model.bom import BomError, BomProblem, Material, Product

__all__ = ["ALL_COLUMNS", "Column", "MATERIAL_FIELDS", "PRODUCT_FIELDS", "header_columns"]

Column = tuple[int, str, str]  # cell index, "product" | "material", field

PRODUCT_FIELDS = tuple(Product.model_fields)
MATERIAL_FIELDS = tuple(f for f in Material.model_fields if f != "materials") + ("parent",)
ALL_COLUMNS = [f"product.{f}" for f in PRODUCT_FIELDS] + [f"material.{f}" for f in MATERIAL_FIELDS]


def header_columns(cells: list[str], file: str, line: int) -> list[Column]:
    """The columns named by a header row; BomError listing every unknown or repeated one."""
    columns: list[Column] = []
    problems: list[BomProblem] = []
    seen: set[str] = set()
    for index, raw in enumerate(cells):
        name = raw.strip()
        if not name:
            continue
        scope, _, field = name.partition(".")
        known = (scope == "product" and field in PRODUCT_FIELDS) or (scope == "material" and field in MATERIAL_FIELDS)
        if name in seen:
            problems.append(BomProblem(f"column `{name}` appears twice", name, file, line))
        elif not known:
            close = difflib.get_close_matches(name, ALL_COLUMNS, n=1, cutoff=0.6)
            hint = f" (did you mean `{close[0]}`?)" if close else " (columns are `product.FIELD` or `material.FIELD`)"
            problems.append(BomProblem(f"unknown column `{name}`{hint}", name, file, line))
        seen.add(name)
        columns.append((index, scope, field))
    if "product.id" not in seen:
        problems.append(BomProblem("missing column `product.id`: rows are grouped by it", "", file, line))
    if problems:
        raise BomError(problems)
    return columns
