"""`origin-rules schema bom|determination`: the JSON Schema of the public formats.

In: which schema. Out: the JSON Schema (draft 2020-12) on stdout, exported from the pydantic
models; the BOM schema rejects what the BOM readers reject for its form (docs/schemas.md).
"""

import json
from enum import Enum
from typing import Annotated

import typer

from . import app


#: The JSON Schema dialect of both schemas (pydantic writes draft 2020-12: ``$defs``,
#: ``prefixItems``); named so that validators such as ``check-jsonschema`` and Ajv pick it.
DIALECT = "https://json-schema.org/draft/2020-12/schema"


class Which(str, Enum):
    bom = "bom"
    determination = "determination"


@app.command()
def schema(which: Annotated[Which, typer.Argument(help="bom or determination.")]) -> None:
    """Print the JSON Schema of a BOM or of a determination."""
    if which is Which.bom:
        from ..model.bom import bom_json_schema

        typer.echo(json.dumps({"$schema": DIALECT, **bom_json_schema()}, indent=2))
    else:
        from ..model.determination import determination_json_schema

        typer.echo(json.dumps({"$schema": DIALECT, **determination_json_schema()}, indent=2))
