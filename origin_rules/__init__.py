"""origin-rules: rules of origin as code.

Public API::

    book = origin_rules.load(["rules/"])           # parse, check and compile once
    bom = origin_rules.read_bom("examples/boms/brake-assembly.yaml")
    det = book.evaluate(bom, under="USMCA", as_of=date(2026, 1, 1))
    det.verdict, det.warnings, det.figures, det.to_json()
    book.evaluate_all(bom, as_of=date(2026, 1, 1))  # every agreement whose parties include
                                                    # the country of production, as the CLI
"""

from .files.boms import read_bom
from .model.bom import BOM, BomError
from .model.determination import Determination
from .model.diagnostics import Diagnostic, RulebookError
from .rulebook.book import Rulebook, UnknownAgreement, load, loads

__version__ = "0.1.0"


__all__ = [
    "BOM", "BomError", "Determination", "Diagnostic", "Rulebook", "RulebookError",
    "UnknownAgreement", "load", "loads", "read_bom", "__version__",
]
