"""The committed OpenAPI schema (docs/openapi.json, written by scripts/gen_openapi.py) is
the app's schema, and every endpoint of it documents its errors as the JSON error body."""

from __future__ import annotations

import json
import re
from pathlib import Path

from origin_rules.service import create_app

ROOT = Path(__file__).resolve().parent.parent


def test_the_committed_schema_is_the_apps():
    committed = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert committed == create_app().openapi(), "run: python scripts/gen_openapi.py"


def test_the_schema_describes_bodies_and_errors():
    schema = create_app().openapi()
    evaluate = schema["paths"]["/evaluate"]["post"]
    assert set(evaluate["requestBody"]["content"]) == {"application/yaml", "application/json"}
    assert evaluate["responses"]["422"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/ErrorBody"
    determination = schema["components"]["schemas"]["Determination"]
    assert "verdict" in determination["properties"]
    refs = set(re.findall(r'"\$ref": "([^"]+)"', json.dumps(schema)))
    components = schema["components"]["schemas"]
    assert refs and all(ref.startswith("#/components/schemas/") and ref.split("/")[-1] in components for ref in refs)
