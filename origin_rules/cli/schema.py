"""`origin-rules schema bom|determination`: the JSON Schema of the public formats.

In: which schema. Out: the JSON Schema on stdout, exported from the pydantic models.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Annotated

import typer

from . import app


class Which(str, Enum):
    bom = "bom"
    determination = "determination"


@app.command()
def schema(which: Annotated[Which, typer.Argument(help="bom or determination.")]) -> None:
    """Print the JSON Schema of a BOM or of a determination."""
    if which is Which.bom:
        from ..bom import bom_json_schema

        typer.echo(json.dumps(bom_json_schema(), indent=2))
    else:
        from ..determination import determination_json_schema

        typer.echo(json.dumps(determination_json_schema(), indent=2))
