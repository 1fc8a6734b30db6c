"""Determinations: the pydantic models of the evaluator's output (``docs/bom.md``, "A determination").

In: what the evaluator found for one product under one agreement (or scenario) as of a
date: the verdict, the rule applied, the figures, the margins to each threshold, the
explanation tree, what was missing, which materials failed, and the warnings on the input
(codes in ``docs/errors.md``, "BOM input").
Out: frozen, strict models that serialize to deterministic JSON (:meth:`Determination.to_json`:
fields in declared order, figures in the evaluator's insertion order, decimals as plain
strings such as ``"390.00"``) and export a JSON Schema (:func:`determination_json_schema`).
The evaluator builds them with :func:`assemble` (:mod:`origin_rules.model.slots`) from values
already in their validated form (:func:`decimal_text` for each decimal), without validating
them again; built from anything else, they validate.

Decimal figures may be given as :class:`decimal.Decimal` or as text; they are stored as
exact decimal strings (``Decimal('61.0')`` -> ``"61.0"``, never exponent notation). A
binary float is refused.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, PlainValidator, WithJsonSchema

from .slots import assemble

__all__ = [
    "COMPARISONS", "VERDICTS", "Determination", "InputWarning", "ExplanationNode", "FailedMaterial", "Headroom",
    "RuleRef", "Verdict", "assemble", "decimal_text", "determination_json_schema",
]

Verdict = Literal["qualifies", "does_not_qualify", "insufficient_data", "no_rule"]
VERDICTS: tuple[str, ...] = ("qualifies", "does_not_qualify", "insufficient_data", "no_rule")
COMPARISONS: tuple[str, ...] = (">=", "<=")

_NUMBER = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)$")


def decimal_text(value: Decimal) -> str:
    """A Decimal as the exact positional text a determination holds (``Decimal('1E+2')``
    -> ``"100"``); NaN and infinities raise ValueError."""
    text = str(value)  # positional unless the exponent is positive or the number tiny
    if "E" in text or "e" in text or "N" in text or "n" in text:  # exponent notation, NaN, Infinity
        if not value.is_finite():
            raise ValueError(f"expected a finite decimal, got {value}")
        text = format(value, "f")
    return text


def _decimal_text(value: Any) -> str:
    """A decimal figure as exact positional text; refuses floats and non-numbers."""
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        return value.strip()
    if isinstance(value, float):
        raise ValueError(f"expected an exact decimal (Decimal or text), got the binary float {value!r}")
    raise ValueError(f"expected a decimal number as text like \"390.00\", got {value!r}")


DecimalText = Annotated[
    str,
    PlainValidator(_decimal_text),
    WithJsonSchema({"type": "string", "pattern": _NUMBER.pattern, "description": "an exact decimal, as text"}),
]


def _figures(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError("expected a mapping of figure names to decimals")
    return {str(name): _decimal_text(number) for name, number in value.items()}


Figures = Annotated[
    dict[str, str],
    PlainValidator(_figures),
    WithJsonSchema({"type": "object", "additionalProperties": {"type": "string", "pattern": _NUMBER.pattern},
                    "description": "exact decimals by name, e.g. {\"vnm\": \"390.00\"}"}),
]

_OUTPUT = ConfigDict(extra="forbid", frozen=True)


class RuleRef(BaseModel):
    """The rule that decided: its selector (``8708.30``), title, place in the rule files
    (``rules/usmca.roo:21``) and the legal text it implements."""

    model_config = _OUTPUT
    selector: str
    title: str | None = None
    source: str
    cite: str | None = None


class Headroom(BaseModel):
    """The margin to one threshold.

    ``value`` (e.g. ``61.00``) is compared with ``threshold`` (``60``) by ``comparison``;
    ``margin`` is in points, positive when there is room left; ``flip_value`` is how much
    more non-originating value would flip the result (``None`` when not applicable)."""

    model_config = _OUTPUT
    criterion: str
    source: str | None = None
    figure: str
    value: DecimalText
    threshold: DecimalText
    comparison: Literal[">=", "<=", ">", "<"]
    margin: DecimalText
    flip_value: DecimalText | None = None
    holds: bool


class FailedMaterial(BaseModel):
    """A material that made a criterion fail, and why (``"chapter 87 is not a change"``)."""

    model_config = _OUTPUT
    id: str
    hs: str | None = None
    reason: str


class ExplanationNode(BaseModel):
    """One step of the explanation tree, mirroring the rule.

    ``result`` is three-valued; ``materials`` are the ids that decided it;
    ``sub_determination`` is a sub-assembly's own determination (roll-up); ``origin`` says
    whether the line came from the agreement or from a scenario layered on it."""

    model_config = _OUTPUT
    text: str
    source: str | None = None
    result: Literal["true", "false", "unknown"]
    figures: Figures = {}
    materials: list[str] = []
    children: list[ExplanationNode] = []
    sub_determination: Determination | None = None
    origin: Literal["agreement", "scenario"] | None = None


class InputWarning(BaseModel):
    """Something in the BOM an analyst must look at before relying on the verdict:
    ``code`` (``BOM101``, see ``docs/errors.md``), ``message``, and the field ``path`` it is
    about (``materials[2].originating``; ``product`` for the whole good)."""

    model_config = _OUTPUT
    code: str
    message: str
    path: str


class Determination(BaseModel):
    """The outcome for one product under one agreement (or scenario) as of a date."""

    model_config = _OUTPUT
    product_id: str
    hs: str | None = None
    agreement: str
    as_of: date
    verdict: Verdict
    warnings: list[InputWarning] = []
    origin_criterion: str | None = None
    rule: RuleRef | None = None
    figures: Figures = {}
    headroom: list[Headroom] = []
    explanation: ExplanationNode | None = None
    missing: list[str] = []
    failed_materials: list[FailedMaterial] = []
    rules_digest: str

    def to_json(self, indent: int | None = 2) -> str:
        """Deterministic JSON: every field, in declared order; ``indent=None`` for one line."""
        return self.model_dump_json(indent=indent)

    @property
    def qualifies(self) -> bool:
        return self.verdict == "qualifies"


ExplanationNode.model_rebuild()
Determination.model_rebuild()


def determination_json_schema() -> dict[str, Any]:
    """The JSON Schema of a determination (``origin-rules schema determination``)."""
    return Determination.model_json_schema()
