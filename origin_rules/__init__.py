"""origin-rules: rules of origin as code.

Public API (see docs/): ``load(paths) -> Rulebook``, ``read_bom(path) -> BOM``,
``Rulebook.evaluate(bom, under=..., as_of=...) -> Determination``.
"""

__version__ = "0.1.0"
