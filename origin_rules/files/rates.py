"""Exchange-rate files: ``--rates FILE`` (docs/bom.md, Currencies).

In: a YAML or JSON file holding a list of rates, or a mapping with the key ``rates`` (the
same shape as a BOM's ``rates``). Out: the :class:`~origin_rules.model.bom.Rate` values, or
a :class:`~origin_rules.model.bom.BomError` naming the file, the line when known, the rate
and what was expected.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ..model.bom import BomError, BomProblem, Rate, Rates
from .boms import yaml_file

__all__ = ["read_rates", "rates_from_data"]

_ADAPTER: TypeAdapter = TypeAdapter(Rates)


def rates_from_data(data: Any, file: str, line: int | None = None) -> tuple[Rate, ...]:
    """The rates of a parsed file: a list, or ``{rates: [...]}``."""
    if isinstance(data, dict) and set(map(str, data)) == {"rates"}:
        data = data["rates"]
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as error:
        problems = [BomProblem(str(e["msg"])[:1].lower() + str(e["msg"])[1:], "rates", file, line)
                    for e in error.errors(include_url=False)]
        raise BomError(problems) from None


def read_rates(path: str | os.PathLike[str]) -> tuple[Rate, ...]:
    """The rates in a YAML or JSON file (JSON is YAML); BomError when unreadable or invalid."""
    file, data, node = yaml_file(path, "rates file", "rates",
                                 "a list of rates, or a mapping with the key `rates` (docs/bom.md, Currencies)")
    return rates_from_data(data, file, node.start_mark.line + 1 if node is not None else None)
