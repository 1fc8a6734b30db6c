"""The model: the values every stage of the pipeline passes on.

The rule language's AST (``ast``), HS codes and sets (``hs``), bills of materials (``bom``)
and their plausibility findings (``plausibility``), determinations (``determination``), and
diagnostics with their codes and renderers (``diagnostics``, ``diagnostic_codes``,
``render``). The lowest layer: it imports nothing else of the package.
"""
