"""`origin-rules lsp`: a Language Server Protocol server for `.roo` files (docs/editor.md).

The analysis (``workspace``, ``index``, ``hover``, ``complete``, ``exercise``) reuses the
parser, the checker, the formatter and the rule tests below; ``server`` is the only module
that imports pygls, and the command line imports it only when ``origin-rules lsp`` runs.
"""
