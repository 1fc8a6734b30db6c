"""`origin-rules lsp`: the language server for `.roo` files, over standard input and output.

In: LSP messages from an editor on stdin (docs/editor.md). Out: answers and diagnostics on
stdout, logs on stderr; exit 0 when the editor says exit. pygls (the ``lsp`` extra) is
imported only here, when the command runs: ``--help`` never loads it. Without pygls the
command says how to install it and exits 2.
"""

from typing import Annotated

import typer

from .root import app
from .common import fail_usage


@app.command()
def lsp(
    stdio: Annotated[bool, typer.Option("--stdio", help="Talk over standard input and output (the default and only transport; editors pass it).")] = False,
) -> None:
    """Run the language server for rule files (diagnostics, hover, definitions, completion, formatting) over stdio."""
    try:
        import pygls  # noqa: F401
    except ModuleNotFoundError:
        fail_usage("the language server needs pygls: pip install 'origin-rules[lsp]'")
    from ..lsp.server import main

    main()
