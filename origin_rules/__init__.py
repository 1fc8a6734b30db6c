"""origin-rules: rules of origin as code.

Public API::

    book = origin_rules.load(["rules/"])           # parse, check and compile once
    bom = origin_rules.read_bom("examples/boms/brake-assembly.yaml")
    det = book.evaluate(bom, under="USMCA", as_of=date(2026, 1, 1))
    det.verdict, det.warnings, det.figures, det.to_json()
    book.evaluate_all(bom, as_of=date(2026, 1, 1))  # every agreement whose parties include
                                                    # the country of production, as the CLI

The names are imported on first use (PEP 562), so that ``import origin_rules`` and the
command line start at once: ``origin-rules --help`` loads neither pydantic nor Lark.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    "read_bom": "origin_rules.files.boms",
    "BOM": "origin_rules.model.bom",
    "BomError": "origin_rules.model.bom",
    "Determination": "origin_rules.model.determination",
    "Diagnostic": "origin_rules.model.diagnostics",
    "RulebookError": "origin_rules.model.diagnostics",
    "Rulebook": "origin_rules.rulebook.book",
    "UnknownAgreement": "origin_rules.rulebook.book",
    "load": "origin_rules.rulebook.book",
    "loads": "origin_rules.rulebook.book",
}

if TYPE_CHECKING:  # what type checkers and IDEs see
    from .files.boms import read_bom
    from .model.bom import BOM, BomError
    from .model.determination import Determination
    from .model.diagnostics import Diagnostic, RulebookError
    from .rulebook.book import Rulebook, UnknownAgreement, load, loads


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'origin_rules' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # the next look-up is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = [
    "BOM", "BomError", "Determination", "Diagnostic", "Rulebook", "RulebookError",
    "UnknownAgreement", "load", "loads", "read_bom", "__version__",
]
