"""`origin-rules schema bom|determination|certification`: the JSON Schema of the public formats.

In: which schema. Out: the JSON Schema (draft 2020-12) on stdout, exported from the pydantic
models; the BOM schema rejects what the BOM readers reject for its form (docs/schemas.md).
"""

import json
from enum import Enum
from typing import Annotated

import typer

from .root import app


#: The JSON Schema dialect of both schemas (pydantic writes draft 2020-12: ``$defs``,
#: ``prefixItems``); named so that validators such as ``check-jsonschema`` and Ajv pick it.
DIALECT = "https://json-schema.org/draft/2020-12/schema"


class Which(str, Enum):
    bom = "bom"
    determination = "determination"
    certification = "certification"


@app.command()
def schema(which: Annotated[Which, typer.Argument(help="bom, determination or certification.")]) -> None:
    """Print the JSON Schema of a BOM, of a determination or of a certification of origin."""
    if which is Which.bom:
        from ..model.bom import bom_json_schema

        typer.echo(json.dumps({"$schema": DIALECT, **bom_json_schema()}, indent=2))
    elif which is Which.certification:
        from ..paperwork.document import certification_json_schema

        typer.echo(json.dumps({"$schema": DIALECT, **certification_json_schema()}, indent=2))
    else:
        from ..model.determination import determination_json_schema

        typer.echo(json.dumps({"$schema": DIALECT, **determination_json_schema()}, indent=2))
