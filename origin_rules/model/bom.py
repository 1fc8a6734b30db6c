"""Bills of materials: the strict pydantic models of the BOM input and its one error type.

In: a mapping (from YAML, JSON, CSV or Python) shaped as in ``docs/bom.md``.
Out: a frozen :class:`BOM` (``product`` + ``materials``) whose money and weights are exact
:class:`decimal.Decimal`, HS codes dotted (``8708.30``), countries ISO 3166-1 alpha-2
uppercase; or a :class:`BomError` listing every problem with its field path
(``materials[1].value``), file and line when known, and what was expected.

No binary float is ever accepted: numbers come in as text, ``int`` or ``Decimal`` (the
readers in :mod:`origin_rules.files.boms` build decimals from the source text). Missing data is
not a validation error (``value`` may be absent; ``originating`` may be unknown): the
evaluator reports it as ``insufficient_data``.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Iterator, Literal, Mapping, Sequence

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError, core_schema

from origin_rules.model.dates import iso_date
from origin_rules.model.hs import HsCode

__all__ = [
    "BOM", "BomError", "BomProblem", "Certification", "DeclaredFact", "Rate", "Kind", "KINDS", "Material", "Process", "Product",
    "bom_from_data", "bom_json_schema", "format_decimal", "line_at", "loads_json", "normalize_hs",
]

KINDS: tuple[str, ...] = ("direct", "indirect", "accessory", "retail_packaging", "shipping_packing")
Kind = Literal["direct", "indirect", "accessory", "retail_packaging", "shipping_packing"]

# ---------------------------------------------------------------------------- scalar types

_DECIMAL_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_MAX_EXPONENT = 40
#: An amount :func:`_read_decimal` takes as it is (with at most _MAX_EXPONENT characters, its
#: digits are within the range); anything else has the whole of :func:`_read_any_decimal`.
_PLAIN_AMOUNT = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+").fullmatch


def _show(value: Any) -> str:
    """The user's value as they would write it, for messages."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 60 else text[:56] + '..."'
    if isinstance(value, (Decimal, int)):
        return str(value)
    if isinstance(value, float):
        return f"the binary float {value!r}"
    return "a mapping" if isinstance(value, Mapping) else "a list" if isinstance(value, (list, tuple)) else "a value"


def _fail(kind: str, message: str, value: Any) -> PydanticCustomError:
    return PydanticCustomError(kind, message + ", got {got}", {"got": _show(value)})


def _within(err: PydanticCustomError, *at: str | int) -> PydanticCustomError:
    """``err`` raised for a part of the field (a fact's name and key, a certification's
    index): its context's ``at`` names the part, which :func:`problems_from_validation` adds to
    the field's path, so that the problem has the part's path and line."""
    context = dict(err.context or {})
    context["at"] = (*at, *context.get("at", ()))
    return PydanticCustomError(err.type, err.message_template, context)


def format_decimal(value: Decimal) -> str:
    """Plain positional text of a decimal, never exponent notation: ``Decimal('1E+2')`` -> ``100``."""
    return format(value, "f")


# Memos of what the validators return for text they accepted (text seen once is usually seen
# again: the same codes, countries and prices on every line of a batch). Only successes are
# kept, and only for inputs that are exactly ``str`` (never a subclass, never a number that
# remembers its source text), so a memoised answer is the answer the validator would give.
_MEMO_SIZE = 65_536
_DECIMALS: dict[str, Decimal] = {}
_CODES: dict[str, str] = {}
_COUNTRY_CODES: dict[str, str] = {}  # what a country accepted reads as (the message aside, same for an origin)


def _remember(memo: dict, key: Any, result: Any) -> Any:
    if len(memo) >= _MEMO_SIZE:
        memo.clear()
    memo[key] = result
    return result


def _to_decimal(value: Any) -> Decimal:
    if type(value) is str:
        known = _DECIMALS.get(value)
        return known if known is not None else _remember(_DECIMALS, value, _read_decimal(value))
    return _read_decimal(value)


def _read_decimal(value: Any) -> Decimal:
    if type(value) is str:  # most amounts: digits and a point, short (in range), no sign, no exponent
        text = value.strip()
        if len(text) <= _MAX_EXPONENT and _PLAIN_AMOUNT(text):
            return Decimal(text)
    return _read_any_decimal(value)


def _read_any_decimal(value: Any) -> Decimal:
    expected = 'expected a decimal number like "120.00"'
    if isinstance(value, float):
        raise _fail("decimal_float", expected + " (as text or an exact number, never a binary float)", value)
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise _fail("decimal_type", expected, value)
    if isinstance(value, str):
        text = value.strip()
        if not _DECIMAL_TEXT.match(text):
            raise _fail("decimal_format", expected, value)
        number = Decimal(text)
    else:
        number = Decimal(value) if type(value) is not SourceDecimal else Decimal(value.source)
    if not number.is_finite():
        raise _fail("decimal_finite", expected + " (a finite one)", value)
    if number.is_signed():
        if number != 0:
            raise _fail("decimal_negative", "expected a non-negative number", value)
        number = number.copy_abs()
    if (number != 0 and number.adjusted() > _MAX_EXPONENT) or number.as_tuple().exponent < -_MAX_EXPONENT:
        raise _fail("decimal_range", "expected a number of sensible size", value)
    if number.as_tuple().exponent > 0:  # 1e2 -> 100, same value, plain form
        number = Decimal(int(number))
    return number


#: What _to_decimal reads as text: no sign but a zero's, an exponent of two digits at most.
_AMOUNT_TEXT = r"^\s*(\+?(\d+(\.\d*)?|\.\d+)|-(0+(\.0*)?|\.0+))([eE][+-]?\d{1,2})?\s*$"

Amount = Annotated[
    Decimal,
    PlainValidator(_to_decimal),
    PlainSerializer(format_decimal, return_type=str, when_used="json"),
    WithJsonSchema({
        "anyOf": [
            {"type": "string", "pattern": _AMOUNT_TEXT},
            {"type": "number", "minimum": 0},
        ],
        "description": "a non-negative exact decimal, best written as a string: \"120.00\"",
    }),
]

def normalize_hs(text: str) -> str:
    """``"870830"`` -> ``"8708.30"``; ``"8708"`` -> ``"87.08"``; ValueError if it is no HS code.

    Dots are optional but, when written, must sit where HS puts them (see :mod:`origin_rules.model.hs`).
    """
    return str(HsCode.parse(text))


def _to_hs(value: Any) -> str:
    if type(value) is str:
        known = _CODES.get(value)
        return known if known is not None else _remember(_CODES, value, _read_hs(value))
    return _read_hs(value)


def _read_hs(value: Any) -> str:
    expected = 'expected an HS code like "8708.30" (2, 4, 6, 8 or 10 digits, dots optional)'
    if isinstance(value, bool) or isinstance(value, float):
        raise _fail("hs_type", expected, value)
    if isinstance(value, (int, Decimal)):
        value = str(value)  # exact source text from the readers; quoting is safer
    if not isinstance(value, str):
        raise _fail("hs_type", expected, value)
    try:
        return normalize_hs(value)
    except ValueError:
        raise _fail("hs_format", expected, value) from None


def _iso_codes() -> tuple[frozenset[str], frozenset[str]]:
    """The ISO 3166-1 alpha-2 country codes and ISO 4217 currency codes pycountry knows, from
    ``origin_rules/data/iso-codes.txt`` (the same lists: checked by tests/test_bom_fast.py),
    so that reading a BOM does not import pycountry, whose import reads package metadata."""
    from importlib import resources

    kinds = {}
    for line in resources.files("origin_rules").joinpath("data/iso-codes.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            kind, *codes = line.split()
            kinds[kind] = frozenset(codes)
    return kinds["countries"], kinds["currencies"]


COUNTRY_CODES, CURRENCY_CODES = _iso_codes()


def _country_hint(text: str) -> str:
    import pycountry

    found = None
    try:
        found = pycountry.countries.get(alpha_3=text.upper()) if len(text) == 3 else None
        if found is None and len(text) > 3:
            found = pycountry.countries.lookup(text)
    except LookupError:
        found = None
    return f" (did you mean \"{found.alpha_2}\"?)" if found is not None else ""


def _to_country(value: Any, expected: str = 'like "MX"') -> str:
    if type(value) is str:
        known = _COUNTRY_CODES.get(value)
        return known if known is not None else _remember(_COUNTRY_CODES, value, _read_country(value, expected))
    return _read_country(value, expected)


def _read_country(value: Any, expected: str) -> str:
    message = "expected an ISO 3166-1 alpha-2 country code " + expected
    if not isinstance(value, str):
        raise _fail("country_type", message, value)
    code = value.strip().upper()
    if len(code) != 2 or code not in COUNTRY_CODES:
        hint = _country_hint(value.strip())
        raise PydanticCustomError("country_code", message + ", got {got}" + hint, {"got": _show(value)})
    return code


_ORIGIN_EXPECTED = 'like "MX", or "unknown"'


def _to_origin(value: Any) -> str:
    if type(value) is str:
        known = _COUNTRY_CODES.get(value)  # a country: never "unknown"
        if known is not None:
            return known
    if isinstance(value, str) and value.strip().lower() == "unknown":
        return "unknown"
    return _to_country(value, _ORIGIN_EXPECTED)


def _to_currency(value: Any) -> str:
    if isinstance(value, str):
        code = value.strip().upper()
        if len(code) == 3 and code in CURRENCY_CODES:
            return code
    raise _fail("currency_code", 'expected an ISO 4217 currency code like "USD"', value)


def _to_bool(value: Any) -> bool:
    if value is True or value is False:
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("true", "yes", "y", "1"):
            return True
        if word in ("false", "no", "n", "0"):
            return False
    raise _fail("bool_word", "expected true or false", value)


def _to_tristate(value: Any) -> bool | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("unknown", "")):
        return None
    try:
        return _to_bool(value)
    except PydanticCustomError:
        raise _fail("bool_word", "expected true, false or null (unknown)", value) from None


class OriginatingMap(dict):
    """``originating`` given per agreement: ``{"USMCA": True, "CPTPP": None}`` (hashable, read-only use)."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items(), key=lambda kv: kv[0])))


def _to_originating(value: Any) -> bool | None | tuple[str, ...] | OriginatingMap:
    """true/false/null for every agreement; a list of the agreements it originates under;
    or a mapping of agreement name to true/false/null."""
    if value is True or value is False or value is None:
        return value
    if isinstance(value, (list, tuple)):
        names: list[str] = []
        for item in value:
            if not isinstance(item, str) or not item.strip():
                raise _fail("originating_name", "expected agreement names like \"USMCA\" in the list", item)
            if item.strip().lower() in (n.lower() for n in names):
                raise _fail("originating_name", "expected each agreement once", item)
            names.append(item.strip())
        return tuple(names)
    if isinstance(value, Mapping):
        out = OriginatingMap()
        for key, flag in value.items():
            if not isinstance(key, str) or not key.strip():
                raise _fail("originating_name", "expected agreement names as keys", key)
            if any(key.strip().lower() == named.lower() for named in out):  # (names match in any case)
                raise _fail("originating_name", "expected each agreement once", key)
            try:
                out[key.strip()] = _to_tristate(flag)
            except PydanticCustomError:
                raise _fail("bool_word", f"expected true, false or null for `{key.strip()}`", flag) from None
        return out
    try:
        return _to_tristate(value)
    except PydanticCustomError:
        raise _fail("bool_word", "expected true, false, null (unknown), a list of agreement names or a mapping "
                    "of agreement names to true/false", value) from None


def _originating_json(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


class SourceDecimal(Decimal):
    """A number read from YAML or JSON that remembers how it was written, so that a text
    field holding digits (a name `0E0`, an id `12.50`) keeps them exactly."""

    source: str

    def __new__(cls, text: str):
        number = super().__new__(cls, text)
        number.source = text
        return number

    def __reduce__(self) -> tuple[type, tuple[str]]:  # pickled (to a batch worker) with its source text
        return (type(self), (self.source,))


class SourceInt(int):
    """An integer that remembers how it was written (`007` stays `007` in a text field)."""

    source: str

    def __new__(cls, text: str):
        number = super().__new__(cls, text)
        number.source = text
        return number

    def __reduce__(self) -> tuple[type, tuple[str]]:  # pickled (to a batch worker) with its source text
        return (type(self), (self.source,))


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    source = getattr(value, "source", None)
    if isinstance(source, str):
        return source
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise _fail("text_type", "expected text", value)


def _to_id(value: Any) -> str:
    text = (value if type(value) is str else _to_text(value)).strip()
    if not text:
        raise _fail("id_empty", "expected a non-empty id", value)
    return text


def _to_kind(value: Any) -> str:
    if isinstance(value, str):
        word = value.strip().lower().replace("-", "_").replace(" ", "_")
        if word in KINDS:
            return word
        close = difflib.get_close_matches(word, KINDS, n=1)
        hint = f" (did you mean `{close[0]}`?)" if close else ""
    else:
        hint = ""
    raise PydanticCustomError(
        "kind_word", "expected one of " + ", ".join(KINDS) + ", got {got}" + hint, {"got": _show(value)}
    )


_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _to_word(value: Any) -> str:
    if isinstance(value, str) and _WORD.match(value.strip()):
        return value.strip()
    raise _fail("word", "expected one word like passenger_vehicle (letters, digits, underscores)", value)


def _schema(**extra: Any) -> WithJsonSchema:
    return WithJsonSchema(extra)


@dataclass(frozen=True, slots=True)
class DeclaredFact:
    """A fact the BOM declares about the good or a material beyond its code: a word
    (``body_stamping``; yes/no facts are the words ``yes`` and ``no``) or a number (percent
    points, e.g. a producer's labour value content), optionally with the period its evidence
    covers (``start``/``end`` inclusive). Outside that period the fact counts as missing."""

    value: str | Decimal
    start: "date | None" = None
    end: "date | None" = None

    def in_force(self, on: "date | None") -> bool:
        if on is None:
            return True
        return (self.start is None or self.start <= on) and (self.end is None or on <= self.end)


def _to_fact_date(value: Any, key: str) -> "date":
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return iso_date(value.strip())
        except ValueError:
            pass
    raise _fail("fact_date", f"expected a date like 2026-01-01 for `{key}`", value)


def _to_fact_value(value: Any) -> str | Decimal:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and _WORD.match(value.strip()):
        return value.strip()
    if isinstance(value, (str, int, Decimal)):
        try:
            return _to_decimal(value)
        except PydanticCustomError:
            pass
    raise _fail("fact_value", "expected a word like body_stamping, yes/no, or a number like \"41.5\"", value)


def _to_fact(name: str, item: Any) -> "DeclaredFact | None":
    """One fact: a value, or ``{value, from, until}`` (an error in a key names it: :func:`_within`)."""
    if isinstance(item, Mapping):
        extra = sorted(set(map(str, item)) - {"value", "from", "until"})
        if extra or "value" not in item:
            raise _fail("fact_shape", f"expected `{name}` as a value or as {{value, from, until}}"
                        + (f" (unknown key `{extra[0]}`)" if extra else " (no `value`)"), item)
        dates = {}
        for key in ("from", "until"):
            try:
                dates[key] = _to_fact_date(item[key], key) if item.get(key) is not None else None
            except PydanticCustomError as err:
                raise _within(err, key) from None
        start, end = dates["from"], dates["until"]
        if start and end and end < start:
            raise _fail("fact_period", f"expected `until` on or after `from` for `{name}`", item)
        try:
            return DeclaredFact(_to_fact_value(item["value"]), start, end)
        except PydanticCustomError as err:
            raise _within(err, "value") from None
    if item is None:
        return None  # an explicit null: not declared
    return DeclaredFact(_to_fact_value(item))


def _to_facts(value: Any) -> dict[str, DeclaredFact]:
    """``facts: {good: body_stamping, lvc: {value: "41.5", from: 2026-01-01, until: 2026-12-31}}``."""
    if isinstance(value, Mapping) and not isinstance(value, DeclaredFact):
        out: dict[str, DeclaredFact] = {}
        for name, item in value.items():
            if isinstance(item, DeclaredFact):
                out[str(name)] = item
                continue
            if not isinstance(name, str) or not _WORD.match(name.strip()):
                raise _fail("fact_name", "expected fact names that are words like good or lvc", name)
            try:
                fact = _to_fact(name.strip(), item)
            except PydanticCustomError as err:
                raise _within(err, name) from None
            if fact is not None:
                out[name.strip()] = fact
        return out
    raise _fail("facts_type", "expected a mapping of fact names to values", value)


def _facts_json(value: dict[str, DeclaredFact]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, fact in value.items():
        shown = fact.value if isinstance(fact.value, str) else format_decimal(fact.value)
        if fact.start is None and fact.end is None:
            out[name] = shown
        else:
            item: dict[str, Any] = {"value": shown}
            if fact.start is not None:
                item["from"] = fact.start.isoformat()
            if fact.end is not None:
                item["until"] = fact.end.isoformat()
            out[name] = item
    return out


class _NoFacts(dict):
    """The default of ``facts``: empty and read-only. Being hashable, it is shared by every
    model instead of deep-copied for each one, as pydantic copies a mutable default."""

    def __hash__(self) -> int:  # type: ignore[override]
        return 0

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("the default facts are read-only")

    __setitem__ = __delitem__ = update = setdefault = pop = popitem = clear = __ior__ = _read_only  # type: ignore[assignment]

    def __reduce__(self) -> Any:
        return (_NoFacts, ())

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        return core_schema.dict_schema()  # how the JSON Schema shows the default: {}


NO_FACTS: dict[str, "DeclaredFact"] = _NoFacts()

_FACT_VALUE_SCHEMA = {"anyOf": [
    {"type": "string", "pattern": r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*$"}, {"type": "string", "pattern": _AMOUNT_TEXT},
    {"type": "number", "minimum": 0}, {"type": "boolean"},
]}
Facts = Annotated[
    dict,
    PlainValidator(_to_facts),
    PlainSerializer(_facts_json, when_used="always"),
    _schema(type="object", propertyNames={"pattern": r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*$"}, additionalProperties={"anyOf": [
        _FACT_VALUE_SCHEMA, {"type": "null", "description": "not declared"},
        {"type": "object", "required": ["value"], "additionalProperties": False, "properties": {
            "value": _FACT_VALUE_SCHEMA, "from": {"type": ["string", "null"], "format": "date"},
            "until": {"type": ["string", "null"], "format": "date"}}},
    ]}, description="Declared facts about the good beyond its code (docs/bom.md, Facts)"),
]


def _any_case(word: str) -> str:
    """A JSON Schema (ECMA 262) regular expression matching ``word`` in any letter case."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)


def _one_of(codes: Any, *also: str) -> str:
    """``^\\s*(...)\\s*$`` matching one of ``codes`` in any case, or one of the patterns
    ``also``: what the readers accept after trimming, so the schema rejects ``XX`` as they do."""
    tails: dict[str, list[str]] = {}
    for code in sorted(codes):
        tails.setdefault(code[:-1], []).append(code[-1])
    parts = [_any_case(head) + "[" + "".join(c.upper() + c.lower() for c in last) + "]" for head, last in tails.items()]
    return r"^\s*(" + "|".join([*parts, *also]) + r")\s*$"


_COUNTRIES = sorted(COUNTRY_CODES)
_TRUE, _FALSE = ("true", "yes", "y", "1"), ("false", "no", "n", "0")
_TRUE_TEXT = _one_of((), *map(_any_case, _TRUE))
_FLAG_TEXT = _one_of((), *map(_any_case, _TRUE + _FALSE))
_TRISTATE_SCHEMA = {"anyOf": [{"type": ["boolean", "null"]},
                              {"type": "string", "pattern": _one_of((), *map(_any_case, _TRUE + _FALSE + ("unknown",)), "")}]}
Hs = Annotated[str, PlainValidator(_to_hs), _schema(anyOf=[
    {"type": "string", "pattern": r"^\s*(\d{2}|\d{4}|\d{6}|\d{8}|\d{10}|\d{2}\.\d{2}|\d{4}\.\d{2}(\.\d{2}(\d{2})?)?)\s*$"},
    *({"type": "integer", "minimum": 10 ** (n - 1), "maximum": 10 ** n - 1} for n in (2, 4, 6, 8, 10)),
], description="2, 4, 6, 8 or 10 digits, best as text; dots, if any, where HS puts them: 87, 87.08, 8708.30, "
   "8708.30.50", examples=["8708.30"])]
Country = Annotated[str, PlainValidator(_to_country), _schema(
    type="string", pattern=_one_of(_COUNTRIES), description="an ISO 3166-1 alpha-2 country code", examples=["MX"])]
Origin = Annotated[str, PlainValidator(_to_origin), _schema(
    type="string", pattern=_one_of(_COUNTRIES, _any_case("unknown")),
    description="an ISO 3166-1 alpha-2 country code, or unknown", examples=["CN"])]
Currency = Annotated[str, PlainValidator(_to_currency), _schema(
    type="string", pattern=_one_of(CURRENCY_CODES),
    description="an ISO 4217 currency code", examples=["USD"])]
Flag = Annotated[bool, PlainValidator(_to_bool), _schema(
    anyOf=[{"type": "boolean"}, {"type": "string", "pattern": _FLAG_TEXT}], description="true or false (also yes/no)")]
TriState = Annotated[bool | None, PlainValidator(_to_tristate), _schema(**_TRISTATE_SCHEMA)]
Originating = Annotated[
    bool | None | tuple[str, ...] | OriginatingMap,
    PlainValidator(_to_originating),
    PlainSerializer(_originating_json),
    _schema(anyOf=[
        {**_TRISTATE_SCHEMA, "description": "under every agreement (null or unknown: unknown)"},
        {"type": "array", "items": {"type": "string", "pattern": r"\S"}, "uniqueItems": True,
         "description": "the agreements it originates under; under any other it does not"},
        {"type": "object", "propertyNames": {"pattern": r"\S"}, "additionalProperties": _TRISTATE_SCHEMA,
         "description": "agreement name -> true/false/null; an agreement not named is unknown"},
    ]),
]
Text = Annotated[str, PlainValidator(_to_text), _schema(type=["string", "number"])]
Id = Annotated[str, PlainValidator(_to_id), _schema(anyOf=[{"type": "string", "pattern": r"\S"}, {"type": "number"}])]
KindField = Annotated[Kind, PlainValidator(_to_kind), _schema(
    type="string", pattern=_one_of((), *(_any_case(k).replace("_", "[-_ ]") for k in KINDS)),
    description="one of " + ", ".join(KINDS), examples=list(KINDS))]
Word = Annotated[str, PlainValidator(_to_word), _schema(type="string", pattern=r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*$")]

# ---------------------------------------------------------------------------- evidence and currencies


@dataclass(frozen=True, slots=True)
class Certification:
    """A supplier's certification of origin that a material cites as the evidence of its
    originating status (docs/bom.md, Supplier certifications): who issued it, its reference,
    the agreement it certifies origin under, and what it covers: a blanket period
    (``start``-``end`` inclusive) or a single shipment (``shipment``, valid from ``issued``).
    ``criterion`` is the origin criterion the supplier claims (shown, not checked)."""

    reference: str
    issuer: str
    agreement: str
    start: "date | None" = None
    end: "date | None" = None
    shipment: str | None = None
    issued: "date | None" = None
    criterion: str | None = None

    def status_on(self, on: "date") -> str:
        """``valid``, ``expired`` or ``not_yet_valid`` on a date."""
        first = self.start if self.shipment is None else self.issued
        if first is not None and on < first:
            return "not_yet_valid"
        if self.shipment is None and self.end is not None and on > self.end:
            return "expired"
        return "valid"

    def covers(self, names: Sequence[str]) -> bool:
        """Whether it certifies origin under one of ``names`` (compared without regard to case)."""
        mine = self.agreement.casefold()
        return any(mine == n.casefold() for n in names)

    def describe(self) -> str:
        """``certification C-1 issued by Acme for USMCA (blanket 2026-01-01 to 2026-12-31)``."""
        if self.shipment is not None:
            span = f"single shipment {self.shipment}" + (f", issued {self.issued.isoformat()}" if self.issued else "")
        else:
            span = f"blanket {self.start.isoformat() if self.start else '?'} to {self.end.isoformat() if self.end else '?'}"
        claimed = f", criterion {self.criterion}" if self.criterion else ""
        return f"certification {self.reference} issued by {self.issuer} for {self.agreement} ({span}{claimed})"


_CERT_KEYS = ("reference", "issuer", "agreement", "from", "until", "shipment", "issued", "criterion")


def _cert_from_text(text: str) -> dict[str, str]:
    """A flat-layout cell: ``reference=C-1; issuer=Acme; agreement=USMCA; from=2026-01-01; until=2026-12-31``."""
    out: dict[str, str] = {}
    for entry in text.split(";"):
        if not entry.strip():
            continue
        key, sep, value = entry.partition("=")
        if not sep:
            raise _fail("certification_text", "expected `key=value` entries separated by `;` "
                        "(reference=C-1; issuer=Acme; agreement=USMCA; from=2026-01-01; until=2026-12-31)", entry.strip())
        out[key.strip()] = value.strip()
    return out


def _to_certification(item: Any, where: str) -> Certification:
    if isinstance(item, Certification):
        return item
    if isinstance(item, str):
        item = _cert_from_text(item)
    if not isinstance(item, Mapping):
        raise _fail("certification_shape", f"expected {where} as a mapping of reference, issuer, agreement, "
                    "from/until or shipment/issued, criterion", item)
    extra = sorted(set(map(str, item)) - set(_CERT_KEYS))
    if extra:
        close = difflib.get_close_matches(extra[0], _CERT_KEYS, n=1)
        raise _fail("certification_key", f"unknown key `{extra[0]}` in {where}"
                    + (f" (did you mean `{close[0]}`?)" if close else f" (keys: {', '.join(_CERT_KEYS)})"), item)
    for key in ("reference", "issuer", "agreement"):
        if item.get(key) is None or not _to_text(item[key]).strip():
            raise _fail("certification_missing", f"expected `{key}` in {where}", item)
    dates = {}
    for k in ("from", "until", "issued"):
        try:
            dates[k] = _to_fact_date(item[k], k) if item.get(k) not in (None, "") else None
        except PydanticCustomError as err:
            raise _within(err, k) from None
    shipment = _to_text(item["shipment"]).strip() if item.get("shipment") not in (None, "") else None
    start, end = dates["from"], dates["until"]
    if shipment is None and (start is None or end is None):
        raise _fail("certification_period", f"expected in {where} a blanket period (`from` and `until`) "
                    "or a single shipment (`shipment`: the invoice number)", item)
    if shipment is not None and (start is not None or end is not None):
        raise _fail("certification_period", f"expected in {where} either a blanket period (`from`, `until`) "
                    "or a single shipment (`shipment`), not both", item)
    if start and end and end < start:
        raise _fail("certification_period", f"expected `until` on or after `from` in {where}", item)
    criterion = _to_text(item["criterion"]).strip() if item.get("criterion") not in (None, "") else None
    return Certification(_to_text(item["reference"]).strip(), _to_text(item["issuer"]).strip(),
                         _to_text(item["agreement"]).strip(), start, end, shipment, dates["issued"], criterion)


def _part(read: Any, item: Any, where: str, index: int) -> Any:
    """``read(item, where)`` for the item at ``index`` of a list, an error naming the item."""
    try:
        return read(item, where)
    except PydanticCustomError as err:
        raise _within(err, index) from None


def _to_certifications(value: Any) -> tuple[Certification, ...]:
    """A list of certifications (mappings), one mapping, or the flat layout's text (entries
    ``key=value`` separated by ``;``, certifications separated by ``|``)."""
    if isinstance(value, str):
        value = [part for part in value.split("|") if part.strip()]
    elif isinstance(value, (Mapping, Certification)):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise _fail("certifications_type", "expected a list of certifications", value)
    out = tuple(_part(_to_certification, item, f"certification {i + 1}", i) for i, item in enumerate(value))
    refs = [c.reference for c in out]
    twice = next((r for r in refs if refs.count(r) > 1), None)
    if twice is not None:
        raise _fail("certifications_twice", f"expected each certification once (`{twice}` is cited twice)", twice)
    return out


def _certifications_json(value: tuple[Certification, ...]) -> list[dict[str, str]]:
    out = []
    for c in value:
        item = {"reference": c.reference, "issuer": c.issuer, "agreement": c.agreement}
        for key, found in (("from", c.start), ("until", c.end), ("shipment", c.shipment), ("issued", c.issued),
                           ("criterion", c.criterion)):
            if found is not None:
                item[key] = found if isinstance(found, str) else found.isoformat()
        out.append(item)
    return out


_DATE_SCHEMA = {"type": "string", "format": "date"}
Certifications = Annotated[
    tuple,
    PlainValidator(_to_certifications),
    PlainSerializer(_certifications_json, when_used="always"),
    _schema(anyOf=[
        {"type": "array", "items": {"type": "object", "additionalProperties": False,
                                    "required": ["reference", "issuer", "agreement"], "properties": {
            "reference": {"type": ["string", "number"]}, "issuer": {"type": ["string", "number"]},
            "agreement": {"type": "string"}, "from": _DATE_SCHEMA, "until": _DATE_SCHEMA,
            "shipment": {"type": ["string", "number"]}, "issued": _DATE_SCHEMA,
            "criterion": {"type": "string"}}}},
        {"type": "string", "description": "the flat layout's text: key=value entries separated by `;`, "
                                          "certifications separated by `|`"},
    ], description="Supplier certifications of origin the material's status rests on (docs/bom.md, "
                   "Supplier certifications)"),
]


@dataclass(frozen=True, slots=True)
class Rate:
    """An exchange rate: one unit of ``base`` is worth ``rate`` units of ``quote`` (so a
    conversion is one exact multiplication), with the date it was fixed and its source."""

    base: str
    quote: str
    rate: Decimal
    on: "date | None" = None
    source: str | None = None

    def describe(self) -> str:
        """``1 EUR = 1.0842 USD (ECB reference rate, 2026-06-30)``."""
        about = ", ".join(x for x in (self.source, self.on.isoformat() if self.on else None) if x)
        return f"1 {self.base} = {format_decimal(self.rate)} {self.quote}" + (f" ({about})" if about else "")


_RATE_KEYS = ("from", "to", "rate", "date", "source")


def _to_rate(item: Any, where: str) -> Rate:
    if isinstance(item, Rate):
        return item
    if not isinstance(item, Mapping):
        raise _fail("rate_shape", f"expected {where} as a mapping of from, to, rate, date, source", item)
    extra = sorted(set(map(str, item)) - set(_RATE_KEYS))
    if extra:
        raise _fail("rate_key", f"unknown key `{extra[0]}` in {where} (keys: {', '.join(_RATE_KEYS)})", item)
    for key in ("from", "to", "rate"):
        if item.get(key) is None:
            raise _fail("rate_missing", f"expected `{key}` in {where}", item)
    try:
        base, quote = _to_currency(item["from"]), _to_currency(item["to"])
        rate = _to_decimal(item["rate"])
    except PydanticCustomError as err:
        raise PydanticCustomError(err.type, f"{where}: " + err.message()) from None
    if rate == 0:
        raise _fail("rate_zero", f"expected a rate above zero in {where}", item["rate"])
    if base == quote:
        raise _fail("rate_same", f"expected two different currencies in {where}", item)
    on = _to_fact_date(item["date"], "date") if item.get("date") is not None else None
    source = _to_text(item["source"]).strip() or None if item.get("source") is not None else None
    return Rate(base, quote, rate, on, source)


def _to_rates(value: Any) -> tuple[Rate, ...]:
    if not isinstance(value, (list, tuple)):
        raise _fail("rates_type", "expected a list of exchange rates ({from: EUR, to: USD, rate: \"1.0842\", "
                    "date: 2026-06-30, source: ...})", value)
    out = tuple(_part(_to_rate, item, f"rate {i + 1}", i) for i, item in enumerate(value))
    pairs = [(r.base, r.quote) for r in out]
    twice = next((p for p in pairs if pairs.count(p) > 1), None)
    if twice is not None:
        raise _fail("rates_twice", f"expected one rate from {twice[0]} to {twice[1]}", list(twice))
    return out


def _rates_json(value: tuple[Rate, ...]) -> list[dict[str, str]]:
    out = []
    for r in value:
        item = {"from": r.base, "to": r.quote, "rate": format_decimal(r.rate)}
        if r.on is not None:
            item["date"] = r.on.isoformat()
        if r.source is not None:
            item["source"] = r.source
        out.append(item)
    return out


Rates = Annotated[
    tuple,
    PlainValidator(_to_rates),
    PlainSerializer(_rates_json, when_used="always"),
    _schema(type="array", items={"type": "object", "additionalProperties": False, "required": ["from", "to", "rate"],
                                 "properties": {"from": {"type": "string"}, "to": {"type": "string"},
                                                "rate": {"type": ["string", "number"]}, "date": _DATE_SCHEMA,
                                                "source": {"type": ["string", "number"]}}},
            description="Exchange rates: 1 unit of `from` is worth `rate` units of `to` (docs/bom.md, Currencies)"),
]


# ---------------------------------------------------------------------------- models

_STRICT = ConfigDict(extra="forbid", frozen=True)


class Process(BaseModel):
    """A process performed in making the good, and where (``country`` missing = unknown)."""

    model_config = _STRICT
    name: Text
    country: Country | None = None


def _unique_ids(materials: tuple["Material", ...]) -> tuple["Material", ...]:
    seen: dict[str, int] = {}
    for index, material in enumerate(materials):
        if material.id in seen:
            raise PydanticCustomError(
                "duplicate_id",
                "duplicate material id `{id}` (also at index {first}): give each line its own id",
                {"id": material.id, "index": index, "first": seen[material.id]},
            )
        seen[material.id] = index
    return materials


class Material(BaseModel):
    """One line of the BOM. With ``materials`` it is a sub-assembly (self-produced
    intermediate material) whose origin is determined by its own rule; it may then carry the
    figures its rule needs, as a product does. ``value`` is what it contributes to its parent."""

    model_config = _STRICT
    id: Id
    description: Text | None = None
    hs: Hs | None = None
    origin: Origin | None = None
    originating: Originating = None
    value: Amount | None = None
    weight_kg: Amount | None = None
    polymer_weight_kg: Amount | None = Field(None, description=(
        "The weight of the polymer content of the material, at most `weight_kg` (equal to it "
        "for a material that is all polymer, 0 for one without polymer); read by "
        "`weight(polymer of ...)`, e.g. GN11(o) ch. 39 rule 1. Null or left out: not declared, "
        "asked for only when the verdict depends on it"))
    quantity: Amount | None = None
    kind: KindField = "direct"
    wholly_obtained: Flag = False
    transaction_value: Amount | None = None
    net_cost: Amount | None = None
    total_cost: Amount | None = None
    fob: Amount | None = None
    ex_works: Amount | None = None
    end_use: Word | None = None
    facts: Facts = NO_FACTS
    processes: tuple[Process, ...] = ()
    provided_as_part: Flag = Field(False, description=(
        "The material is provided for as a part in the subheading (or heading not "
        "subdivided) where it is classified, by the nomenclature and the Section or Chapter "
        "Notes; rules see it as the fact `provided_as_part` (yes/no, default no)"))
    in_component: TriState = Field(None, description=(
        "The material (fibers or yarns) is in the component of the good that determines its "
        "tariff classification (textile de minimis, USMCA Art. 6.1.3); null or left out: not "
        "declared, asked for only when a de minimis line measured on the component needs it"))
    elastomeric: TriState = Field(None, description=(
        "The material is elastomeric (elastomeric yarns or content; the sub-limit `of which "
        "elastomeric` of a de minimis line); null or left out: not declared, asked for only "
        "when the sub-limit could be exceeded"))
    component_weight_kg: Amount | None = Field(None, description=(
        "For a sub-assembly: the weight of its component that determines its tariff "
        "classification, as `product.component_weight_kg`"))
    currency: Currency | None = Field(None, description=(
        "The currency of the material's money (`value`, and a sub-assembly's own figures) when it "
        "is not the product's: converted at the BOM's `rates` (docs/bom.md, Currencies)"))
    certifications: Certifications = Field((), description=(
        "Supplier certifications of origin: as of the determination date, a valid one for the "
        "agreement makes the material originating under it (docs/bom.md, Supplier certifications)"))
    materials: tuple["Material", ...] = ()

    @field_validator("materials")
    @classmethod
    def check_unique_ids(cls, materials: tuple["Material", ...]) -> tuple["Material", ...]:
        return _unique_ids(materials)

    @field_validator("facts")
    @classmethod
    def check_flag_facts(cls, facts: dict) -> dict:
        return _no_flag_facts(facts, MATERIAL_FLAG_FACTS, "material")

    @field_validator("polymer_weight_kg")
    @classmethod
    def check_polymer_weight(cls, polymer: Decimal | None, info: ValidationInfo) -> Decimal | None:
        """A part weighs at most the whole: ``polymer_weight_kg <= weight_kg``."""
        weight = info.data.get("weight_kg")
        if polymer is not None and weight is not None and polymer > weight:
            raise PydanticCustomError(
                "part_weight", "the polymer content ({polymer} kg) weighs more than the material "
                "(`weight_kg` {weight} kg): `polymer_weight_kg` is at most `weight_kg`",
                {"polymer": format_decimal(polymer), "weight": format_decimal(weight)})
        return polymer

    @property
    def is_subassembly(self) -> bool:
        return bool(self.materials)

    def all_facts(self) -> dict[str, "DeclaredFact"]:
        """The declared facts with the material's yes/no flags (MATERIAL_FLAG_FACTS) added."""
        facts = dict(self.facts)
        for name in MATERIAL_FLAG_FACTS:
            facts[name] = FACT_YES if getattr(self, name) else FACT_NO
        return facts

    def own_facts(self) -> dict[str, "DeclaredFact"]:
        """The facts of this material as a good (a sub-assembly): its declared facts and the
        product flags, all `no` (a sub-assembly made in-house is neither a retail set nor
        imported unassembled, and it is produced: it is not a good only packaged or diluted)."""
        return {**self.facts, **{name: FACT_NO for name in FLAG_FACTS}}


class Product(BaseModel):
    """The good being determined: its code, where it is produced, and its product figures."""

    model_config = _STRICT
    id: Id
    description: Text | None = None
    hs: Hs | None = None
    produced_in: Country | None = None
    imported_from: Country | None = Field(None, description=(
        "The country from which the good is imported (shipped) into the importing country, "
        "which may differ from produced_in; rules read it as `imported_from` (USMCA Art. 2.10 "
        "/ HTSUS GN11(p): goods deemed originating when imported from another USMCA country)"))
    currency: Currency | None = None
    transaction_value: Amount | None = None
    net_cost: Amount | None = None
    total_cost: Amount | None = None
    fob: Amount | None = None
    ex_works: Amount | None = None
    weight_kg: Amount | None = None
    component_weight_kg: Amount | None = Field(None, description=(
        "The weight of the component of the good that determines its tariff classification "
        "(textile de minimis of chapters 61-63, USMCA Art. 6.1.3): the base of a de minimis "
        "line `of component_weight`"))
    wholly_obtained: Flag = False
    end_use: Word | None = None
    facts: Facts = NO_FACTS
    processes: tuple[Process, ...] = ()
    retail_set: Flag = Field(False, description=(
        "The good is a set put up for retail sale, classified by rule 3 of the General Rules "
        "for the Interpretation of the Harmonized System; rules see it as the fact "
        "`retail_set` (yes/no, default no)"))
    imported_unassembled: Flag = Field(False, description=(
        "The good was imported in an unassembled or disassembled form and is classified as "
        "the assembled good by rule 2(a) of the General Rules; rules see it as the fact "
        "`imported_unassembled` (yes/no, default no)"))
    packaging_only: Flag = Field(False, description=(
        "The only operations performed on the good in the territory where it is declared "
        "produced were packaging or repackaging it (filling, putting up for retail sale, "
        "labelling, packing), which are not production (USMCA: HTSUS GN11(l)(xvi), CBP H318560, "
        "H325287); rules see it as the fact `packaging_only` (yes/no, default no)"))
    diluted_only: Flag = Field(False, description=(
        "The only operation performed on the good there was mere dilution with water or another "
        "substance that does not materially alter its characteristics (USMCA Art. 4.13(a)); "
        "rules see it as the fact `diluted_only` (yes/no, default no)"))

    @field_validator("facts")
    @classmethod
    def check_flag_facts(cls, facts: dict) -> dict:
        return _no_flag_facts(facts, FLAG_FACTS, "product")

    def all_facts(self) -> dict[str, "DeclaredFact"]:
        """The declared facts with the product's yes/no flags (FLAG_FACTS) added as facts."""
        return {**self.facts, **_flags(self, FLAG_FACTS)}


# Fields that rules read as facts (`when retail_set in [yes]`, `provided_as_part in [yes]`):
# unlike a declared fact, they are never missing (false unless the BOM says true).
FLAG_FACTS = ("retail_set", "imported_unassembled", "packaging_only", "diluted_only")
MATERIAL_FLAG_FACTS = ("provided_as_part",)


#: The facts a flag field stands for (`provided_as_part: true` is the fact `provided_as_part` =
#: yes); frozen: one of each serves every BOM.
FACT_YES, FACT_NO = DeclaredFact("yes"), DeclaredFact("no")


def _flags(model: BaseModel, names: tuple[str, ...]) -> dict[str, "DeclaredFact"]:
    return {name: FACT_YES if getattr(model, name) else FACT_NO for name in names}


def _no_flag_facts(facts: dict, names: tuple[str, ...], owner: str) -> dict:
    for name in names:
        if name in facts:
            raise PydanticCustomError(
                "flag_fact", "`{name}` is a field of the {owner} (true/false), not a declared fact: "
                "write `{name}: true` beside `facts`", {"name": name, "owner": owner})
    return facts


class BOM(BaseModel):
    """A bill of materials: the product and its materials (possibly nested)."""

    model_config = _STRICT
    product: Product
    materials: tuple[Material, ...] = ()
    rates: Rates = Field((), description=(
        "Exchange rates into the product's currency for materials priced in another "
        "(docs/bom.md, Currencies)"))

    @field_validator("materials")
    @classmethod
    def check_unique_ids(cls, materials: tuple["Material", ...]) -> tuple["Material", ...]:
        return _unique_ids(materials)

    def walk(self) -> Iterator[tuple[str, Material]]:
        """Every material at every level with its field path (``materials[1].materials[0]``)."""
        stack: list[tuple[str, tuple[Material, ...]]] = [("materials", self.materials)]
        while stack:
            prefix, items = stack.pop()
            for index, material in enumerate(items):
                path = f"{prefix}[{index}]"
                yield path, material
                if material.materials:
                    stack.append((path + ".materials", material.materials))

    def to_json(self, indent: int | None = 2) -> str:
        """The BOM as JSON in the input format (decimals as strings, defaults left out, but
        ``materials`` always written: a BOM without the key is not read back)."""
        data = self.model_dump(mode="json", exclude_defaults=True)
        data.setdefault("materials", [])
        return json.dumps(data, indent=indent, ensure_ascii=False, separators=None if indent else (",", ":"))

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, **kwargs: Any) -> "BOM":
        """Like pydantic's, but JSON numbers become exact decimals, never floats."""
        try:
            data = loads_json(json_data)
        except ValueError as err:
            raise ValidationError.from_exception_data(cls.__name__, [
                {"type": "json_invalid", "loc": (), "input": json_data, "ctx": {"error": str(err)}}]) from None
        return cls.model_validate(data, **kwargs)


Material.model_rebuild()


def bom_json_schema() -> dict[str, Any]:
    """The JSON Schema of a BOM (``origin-rules schema bom``): the models' fields, and
    ``materials`` required unless the product is wholly obtained (the readers' BOM003)."""
    schema = BOM.model_json_schema()
    wholly = {"anyOf": [{"const": True}, {"type": "string", "pattern": _TRUE_TEXT}]}
    schema["if"] = {"properties": {"product": {"required": ["wholly_obtained"], "properties": {"wholly_obtained": wholly}}}}
    schema["else"] = {"required": ["materials"]}
    return schema


# ---------------------------------------------------------------------------- errors


@dataclass(frozen=True, slots=True)
class BomProblem:
    """One thing wrong with a BOM input; ``path`` is empty for the whole document."""

    message: str
    path: str = ""
    file: str | None = None
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line, self.column) if p is not None)
        parts = [p for p in (where, self.path) if p]
        return ": ".join(parts + [self.message])

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "path": self.path, "line": self.line,
                "column": self.column, "message": self.message}


class BomError(Exception):
    """A BOM that cannot be read or is not valid: every problem found, not just the first."""

    def __init__(self, problems: Sequence[BomProblem] | BomProblem):
        self.problems: list[BomProblem] = [problems] if isinstance(problems, BomProblem) else list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems) or "invalid BOM"

    def to_dicts(self) -> list[dict[str, Any]]:
        return [p.to_dict() for p in self.problems]


Loc = tuple[str | int, ...]

_CHILD: dict[tuple[type[BaseModel], str], type[BaseModel]] = {
    (BOM, "product"): Product, (BOM, "materials"): Material, (Material, "materials"): Material,
    (Product, "processes"): Process, (Material, "processes"): Process,
}
_SYNONYMS = {"hs_code": "hs", "part_number": "id", "country": "origin", "country_of_origin": "origin",
             "price": "value", "cost": "value", "type": "kind", "children": "materials",
             "components": "materials", "weight": "weight_kg"}


def path_text(loc: Loc) -> str:
    """``('materials', 1, 'value')`` -> ``materials[1].value``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _model_at(loc: Loc) -> type[BaseModel] | None:
    model: type[BaseModel] | None = BOM
    for part in loc:
        if model is None:
            return None
        if isinstance(part, str):
            model = _CHILD.get((model, part))
    return model


def _unknown_field(loc: Loc) -> str:
    name = str(loc[-1])
    model = _model_at(loc[:-1])
    fields = list(model.model_fields) if model else []
    guess = _SYNONYMS.get(name.lower()) if _SYNONYMS.get(name.lower()) in fields else None
    close = [guess] if guess else difflib.get_close_matches(name, fields, n=1, cutoff=0.6)
    return f"unknown field `{name}`" + (f" (did you mean `{close[0]}`?)" if close else "")


#: What the root of a BOM is, for the message about a document that is none.
BOM_ROOT = "a BOM (a mapping with `product` and `materials`)"


def _problem_message(err: Mapping[str, Any], root: str = BOM_ROOT) -> str:
    kind, loc, value = err["type"], tuple(err["loc"]), err.get("input")
    if kind == "extra_forbidden":
        return _unknown_field(loc)
    if kind == "missing":
        return f"missing required field `{loc[-1]}`" if loc else "missing"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        what = root if not loc else "a mapping of fields"
        return f"expected {what}, got {_show(value)}"
    if kind in ("list_type", "tuple_type"):
        return f"expected a list, got {_show(value)}"
    if kind == "frozen_instance":
        return "BOM models are read-only"
    msg = str(err["msg"])
    return msg[:1].lower() + msg[1:]


def problems_from_validation(
    error: ValidationError,
    *,
    file: str | None = None,
    lines: Mapping[Loc, int] | None = None,
    line: int | None = None,
    root: str = BOM_ROOT,
) -> list[BomProblem]:
    """Pydantic's errors as :class:`BomProblem` with field paths and, when known, lines;
    ``root`` says what the whole document should be (default: a BOM)."""
    problems = []
    for err in error.errors(include_url=False):
        loc = tuple(err["loc"])
        ctx = err.get("ctx") or {}
        if err["type"] == "duplicate_id":
            loc = loc + (int(ctx["index"]), "id")
        if ctx.get("at"):  # raised for a part of the field (_within)
            loc = loc + tuple(ctx["at"])
        problems.append(BomProblem(_problem_message(err, root), path_text(loc), file, line_at(loc, lines, line)))
    return problems


def bom_from_data(
    data: Any,
    *,
    file: str | None = None,
    lines: Mapping[Loc, int] | None = None,
    line: int | None = None,
) -> BOM:
    """Validate one BOM mapping; :class:`BomError` lists every problem.

    ``lines`` maps field locations (``('materials', 1, 'value')``) to source lines; ``line``
    is the line used when no closer one is known (JSON Lines, CSV).
    """
    nul = _nul_problems(data, file, lines, line) if _has_nul(data) else []
    try:
        bom = BOM.model_validate(data)
    except ValidationError as error:
        raise BomError(nul + problems_from_validation(error, file=file, lines=lines, line=line)) from None
    if nul:
        raise BomError(nul)
    return bom


def line_at(loc: Loc, lines: Mapping[Loc, int] | None, line: int | None) -> int | None:
    """The source line of the field at ``loc``: that of its nearest enclosing location in
    ``lines``, else ``line``."""
    for cut in range(len(loc), -1, -1):
        if lines and loc[:cut] in lines:
            return lines[loc[:cut]]
    return line


def _has_nul(data: Any) -> bool:
    """Whether any text of the input holds a NUL character (a quick walk, no paths)."""
    stack = [data]
    pop, push = stack.pop, stack.extend
    while stack:
        value = pop()
        kind = type(value)
        if kind is dict:
            push(value.values())
        elif kind is list:
            push(value)
        elif (kind is str or isinstance(value, str)) and "\x00" in value:
            return True
    return False


def _nul_problems(data: Any, file: str | None, lines: Mapping[Loc, int] | None,
                  line: int | None) -> list[BomProblem]:
    """A problem for each text of the input that holds a NUL character (U+0000):
    no BOM means one, PostgreSQL cannot store it (an audit store would refuse the record)
    and a CSV cell cannot carry it, so it is refused here, for every input format, at its
    field path. JSON refuses a raw NUL byte itself; YAML's ``"\\0"`` escape, JSON's
    ``"\\u0000"``, a CSV or Parquet cell bring one here."""
    out: list[BomProblem] = []
    stack: list[tuple[Loc, Any]] = [((), data)]
    while stack:
        loc, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                out.append(BomProblem(NUL_MESSAGE, path_text(loc), file, line_at(loc, lines, line)))
        elif isinstance(value, dict):  # (keys: the models' own checks name what they may be)
            stack.extend((loc + (key,), item) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((loc + (index,), item) for index, item in enumerate(value))
    return sorted(out, key=lambda p: (p.line or 0, p.path)) if len(out) > 1 else out


NUL_MESSAGE = "the text holds a NUL character (U+0000), which no text of a BOM may hold: remove it"


# ---------------------------------------------------------------------------- JSON text


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) == len(pairs):
        return out
    seen: set[str] = set()
    for key, _ in pairs:  # name the first key met a second time
        if key in seen:
            raise _DuplicateKey(f"duplicate key `{key}`")
        seen.add(key)
    return out  # not reached


class _DuplicateKey(ValueError):
    """A key given twice in one JSON object (``json.loads`` gives it no position)."""


def loads_json(text: str | bytes | bytearray) -> Any:
    """Parse JSON with every number exact (``0.1`` -> ``Decimal('0.1')``, ints stay ints),
    ``NaN``/``Infinity`` as decimals (rejected later with a path), duplicate keys an error,
    a lone surrogate escape an error (:func:`_no_lone_surrogates`). Every error is a
    ``json.JSONDecodeError`` with its line and column (:func:`_placed`)."""
    try:
        data = json.loads(text, parse_float=SourceDecimal, parse_int=SourceInt, parse_constant=Decimal,
                          object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError:
        raise
    except ValueError as err:
        raise _placed(err, text) from None
    _no_lone_surrogates(text, data)
    return data


def _placed(err: ValueError, text: str | bytes | bytearray) -> ValueError:
    """A key given twice, or an integer too long for Python to read (over 4,300 digits), as
    ``json.loads`` reports them: a ``ValueError`` without a position. For a key, the text is
    read again by the standard library's pure-Python scanner, which says where the object
    holding it twice opens; a number is the first run of so many digits. ``err`` itself if
    neither is found."""
    doc = text if isinstance(text, str) else bytes(text).decode("utf-8", "replace")
    found: list[int] = []
    decoder = json.JSONDecoder(parse_float=Decimal, parse_constant=Decimal, object_pairs_hook=_no_duplicates)
    parse_object = decoder.parse_object

    def object_at(s_and_end, *args):
        try:
            return parse_object(s_and_end, *args)
        except _DuplicateKey:
            if not found:
                found.append(s_and_end[1] - 1)  # the innermost object: its `{`
            raise

    if not isinstance(err, _DuplicateKey):
        long = _LONG_INTEGER.search(doc)
        if long is None:
            return err
        return json.JSONDecodeError("an integer of more than 4,300 digits: expected a number of sensible size",
                                    doc, long.start())
    decoder.parse_object = object_at
    decoder.scan_once = json.scanner.py_make_scanner(decoder)
    try:
        decoder.decode(doc)
    except (ValueError, RecursionError):
        pass
    if not found:
        return err
    return json.JSONDecodeError(f"{err} in the object that opens here", doc, found[0])


#: A run of digits longer than Python reads as an integer (``sys.get_int_max_str_digits``).
_LONG_INTEGER = re.compile(r"-?\d{4301,}")


#: A JSON escape of a UTF-16 surrogate (``\ud800``-``\udfff``), as text and as bytes.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _no_lone_surrogates(text: str | bytes | bytearray, data: Any) -> None:
    """``json.loads`` reads ``"\\ud800"`` alone (half of a UTF-16 pair) into a string that no
    UTF-8 output can hold: a batch writing it, or ``evaluate`` printing it, would fail. Such a
    text is refused as invalid JSON at the first lone escape (orjson, the fast reader's
    parser, refuses it too). Looked for only when the text has a surrogate escape at all: a
    pair of them is one character, and stays."""
    found = (_SURROGATE_ESCAPE if isinstance(text, str) else _SURROGATE_ESCAPE_BYTES).search(text)
    if found is None or not _has_lone_surrogate(data):
        return
    doc = text if isinstance(text, str) else bytes(text).decode("utf-8", "replace")
    pos = _lone_escape_at(doc)
    raise json.JSONDecodeError(f"`{doc[pos:pos + 6]}` is half of a UTF-16 surrogate pair, not a character: "
                               "write the character itself, or both halves", doc, pos)


def _has_lone_surrogate(data: Any) -> bool:
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def _lone_escape_at(doc: str) -> int:
    """Where the first unpaired surrogate escape of a JSON text starts (0 if none is found:
    the caller knows there is one). An escape is one when an odd run of backslashes leads
    to its ``u``; a high half (``d800``-``dbff``) is paired when a low one follows at once."""
    skip = -1
    for match in _SURROGATE_ESCAPE.finditer(doc):
        start = match.start()
        if start < skip:
            continue
        run = 0
        while start - run - 1 >= 0 and doc[start - run - 1] == "\\":
            run += 1
        if run % 2:  # an escaped backslash, then the letters `u d 8 0 0`
            continue
        high = doc[start + 3] in "89abAB"
        after = _SURROGATE_ESCAPE.match(doc, start + 6)
        if high and after is not None and doc[start + 9] not in "89abAB":
            skip = start + 12
            continue
        return start
    return 0


# ---------------------------------------------------------------------------- fast JSON reading


class _Slow(Exception):
    """The fast reader met something it leaves to the models (:func:`bom_from_json`)."""


def _str_only(convert: Any) -> Any:
    """A text field's validator for the fast reader: a number in a text field keeps its
    source text only when read by :func:`loads_json`, so any other value goes the slow way."""
    if convert is _to_text:
        return _plain_text
    if convert is _to_id:
        return _plain_id

    def read(value: Any) -> Any:
        if type(value) is not str:
            raise _Slow
        return convert(value)
    return read


def _plain_text(value: Any) -> str:
    """:func:`_to_text` of text."""
    if type(value) is str:
        return value
    raise _Slow


def _plain_id(value: Any) -> str:
    """:func:`_to_id` of text."""
    if type(value) is str:
        text = value.strip()
        if text:
            return text
    raise _Slow


def _pairs(value: Any) -> int:
    """How many key/value pairs ``value`` holds at any depth (JSON's ``:`` separators)."""
    if type(value) is dict:
        return len(value) + sum(_pairs(v) for v in value.values())
    if type(value) is list:
        return sum(_pairs(v) for v in value)
    return 0


def _counted(convert: Any, texts_only: bool = False) -> Any:
    """A structured field (facts, originating, certifications, rates) for the fast reader:
    its pairs counted; with ``texts_only``, only text, booleans and nulls inside (numbers
    in them are text fields that would lose their source form)."""
    def read(value: Any, count: list[int]) -> Any:
        if texts_only and _has_number(value):
            raise _Slow
        count[0] += _pairs(value)
        return convert(value)
    return read


def _has_number(value: Any) -> bool:
    if type(value) is dict:
        return any(_has_number(v) for v in value.values())
    if type(value) is list:
        return any(_has_number(v) for v in value)
    return not (value is None or type(value) is str or type(value) is bool)


class _Spec:
    """How the fast reader builds one model: its fields' defaults in order, the validators
    of its plain fields, the readers of its structured ones, and its checks across fields."""

    def __init__(self, model: type[BaseModel], plain: dict[str, Any], nullable: frozenset[str],
                 structured: dict[str, Any], check: Any) -> None:
        self.model = model
        self.template = {name: info.default for name, info in model.model_fields.items()}
        self.required = tuple(name for name, info in model.model_fields.items() if info.is_required())
        self.plain = plain
        self.nullable = nullable
        self.structured = structured
        self.check = check
        #: each plain field's memo of what its validator accepted (:func:`_remember`; read
        #: without calling the validator), its validator, and whether it may be null
        self.fields = {name: (_MEMOS.get(read), read, name in nullable) for name, read in plain.items()}
        #: the fields whose being given calls for more than their plain validators: the
        #: structured ones, and those the models' own field validators check (which pydantic
        #: runs only for a field given, as ``check`` acts only on them)
        validated = {name for found in model.__pydantic_decorators__.field_validators.values()
                     for name in found.info.fields}
        self.watched = frozenset(structured) | validated


def _plain_originating(value: Any) -> Any:
    """``originating`` as true, false or null (what :func:`_to_originating` returns for
    them); a list or a mapping is left to the models' way."""
    if value is True or value is False or value is None:
        return value
    raise _Slow


_TEXT_VALIDATORS = {_to_text, _to_id, _to_word}
_PLAIN_READERS = {_to_originating: _plain_originating}
_STRUCTURED_VALIDATORS = {_to_facts: False, _to_certifications: True, _to_rates: True}
#: The memos of the validators that keep one (:func:`_remember`), read by the fast reader.
_MEMOS = {_to_hs: _CODES, _to_country: _COUNTRY_CODES, _to_origin: _COUNTRY_CODES, _to_decimal: _DECIMALS}


def _validator_of(annotation: Any, metadata: list[Any]) -> tuple[Any, bool]:
    """The PlainValidator's function of a field and whether None is accepted without it."""
    from typing import Union, get_args, get_origin

    nullable = False
    if get_origin(annotation) is Union and type(None) in get_args(annotation) and len(get_args(annotation)) == 2:
        nullable = True
        inner = next(a for a in get_args(annotation) if a is not type(None))
        metadata = list(getattr(inner, "__metadata__", ())) + list(metadata)
    found = [m.func for m in metadata if isinstance(m, PlainValidator)]
    return (found[0] if len(found) == 1 else None), nullable


_SPECS: dict[type[BaseModel], _Spec] = {}
from origin_rules.model.slots import SET_DICT as _SET_DICT, SET_EXTRA as _SET_EXTRA, SET_FIELDS as _SET_FIELDS  # noqa: E402
from origin_rules.model.slots import SET_PRIVATE as _SET_PRIVATE  # noqa: E402
from origin_rules.model.slots import SharedFieldsSet as _SharedFieldsSet  # noqa: E402


def _spec(model: type[BaseModel], check: Any) -> _Spec | None:
    """The model's :class:`_Spec`, or None when a field is of a kind the fast reader does not know."""
    from typing import get_args, get_origin

    plain: dict[str, Any] = {}
    nullable: set[str] = set()
    structured: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            structured[name] = _one(annotation)
            continue
        if get_origin(annotation) is tuple and len(get_args(annotation)) == 2 and get_args(annotation)[1] is Ellipsis:
            item = get_args(annotation)[0]
            if isinstance(item, type) and issubclass(item, BaseModel):
                structured[name] = _many(item)
                continue
        func, optional = _validator_of(annotation, info.metadata)
        if func is None:
            return None
        if func in _STRUCTURED_VALIDATORS:
            structured[name] = _counted(func, _STRUCTURED_VALIDATORS[func])
        else:
            plain[name] = _str_only(func) if func in _TEXT_VALIDATORS else _PLAIN_READERS.get(func, func)
        if optional:
            nullable.add(name)
    return _Spec(model, plain, frozenset(nullable), structured, check)


def _builder(spec: _Spec) -> Any:
    """The function building ``spec.model`` from a JSON mapping (its names bound once)."""
    model, template, required, structured, check, watched = (
        spec.model, spec.template, spec.required, spec.structured, spec.check, spec.watched)
    new, set_dict, set_fields, set_extra, set_private = _new_model, _SET_DICT, _SET_FIELDS, _SET_EXTRA, _SET_PRIVATE
    copy, find = template.copy, spec.fields.get
    layouts: dict[tuple, Any] = {}  # the keys of a mapping, in order -> its builder
    _LAYOUTS_MADE[model] = layouts
    _RUNS_MADE[model] = {}
    _LAST_RUN.pop(model, None)

    def build(data: Any, count: list[int]) -> BaseModel:
        if type(data) is not dict:
            raise _Slow
        keys = tuple(data)
        fast = layouts.get(keys)
        if fast is None:
            if len(layouts) >= _MAX_LAYOUTS:
                return generic(data, count)
            fast = layouts[keys] = _layout_builder(spec, keys) or generic
        return fast(data, count)

    def generic(data: dict, count: list[int]) -> BaseModel:
        for name in required:
            if name not in data:
                raise _Slow  # the models say "missing required field" with its path
        values = copy()
        for key, raw in data.items():
            field = find(key)
            if field is None:
                values[key] = structured[key](raw, count)  # KeyError: an unknown field
                continue
            memo, read, nullable = field
            if memo is not None and type(raw) is str:
                known = memo.get(raw)
                if known is not None:  # what the field's validator returned for this text
                    values[key] = known
                    continue
            values[key] = None if raw is None and nullable else read(raw)
        if check is not None and not watched.isdisjoint(data):
            check(values)
        count[0] += len(data)
        made = new(model)
        set_dict(made, values)
        set_fields(made, set(data))
        set_extra(made, None)
        set_private(made, None)
        return made
    return build


#: The fast reader's own readers of plain fields, as lines a layout's builder writes out
#: instead of calling them (``{raw}``: the value read; ``{v}``: the result).
_INLINE = {
    _plain_text: ["if type({raw}) is not str:", "    raise Slow", "{v} = {raw}"],
    _plain_id: ["if type({raw}) is not str:", "    raise Slow", "{v} = {raw}.strip()", "if not {v}:", "    raise Slow"],
    _plain_originating: ["if {raw} is True or {raw} is False or {raw} is None:", "    {v} = {raw}", "else:", "    raise Slow"],
}

#: Key layouts (the keys of a mapping in order) given a builder of their own, per model; a
#: batch meets a handful (its BOMs are written by one program), a hostile input no more.
_MAX_LAYOUTS = 64
#: The builders made, per model: ``{keys: builder}`` (the generic builder for a layout that
#: is refused, and for none past ``_MAX_LAYOUTS``).
_LAYOUTS_MADE: dict[type[BaseModel], dict[tuple, Any]] = {}


def _layout_builder(spec: _Spec, keys: tuple) -> Any:
    """A builder of ``spec.model`` for mappings with exactly these keys in this order: the
    generic builder's steps written out for them (no per-key look-up of the field, the check
    across fields only if a key calls for it), so the same values, the same fields set and
    the same errors (:class:`_Slow`). None when a key is not a field or a required field is
    missing (the generic builder then refuses it). The source is made from the model's own
    field names, each checked against the model and written as a literal; every value is
    bound by a generated name."""
    env = _layout_env(spec, keys)
    if env is None:
        return None
    lines = ["def build(data, count):"]
    lines += [f"    raw{i} = data[{key!r}]" for i, key in enumerate(keys)]
    lines += _layout_body(spec, keys, env, "    ")
    lines += [f"    count[0] += {len(keys)}", "    return made"]
    return _compiled(lines, env, spec, "build")


def _run_builder(spec: _Spec, keys: tuple) -> Any:
    """A builder of a list's ``spec.model`` items that all have these keys (in any order):
    ``run(items, out, count)`` appends the item of each to ``out``, as the builder of
    :func:`_layout_builder` makes it, all in one loop (no call, no look-up of the layout per
    item). It stops with :class:`_Mismatch` at an item that is not a mapping of exactly
    these keys (before any of its work: its values are all looked up first), leaving the
    items built so far in ``out`` and counted; any other error is the layout builder's."""
    env = _layout_env(spec, keys)
    if env is None:
        return None
    env["Mismatch"] = _Mismatch
    lines = ["def run(items, out, count):",
             "    append = out.append",
             "    try:",
             "        for data in items:",
             f"            if type(data) is not dict or len(data) != {len(keys)}:",
             "                raise Mismatch",
             "            try:"]
    lines += [f"                raw{i} = data[{key!r}]" for i, key in enumerate(keys)]
    lines += ["            except KeyError:",
              "                raise Mismatch from None"]
    lines += _layout_body(spec, keys, env, "            ")
    lines += ["            append(made)",
              "    finally:",
              f"        count[0] += {len(keys)} * len(out)"]
    return _compiled(lines, env, spec, "run")


def _layout_env(spec: _Spec, keys: tuple) -> dict[str, Any] | None:
    """The names a layout's builder binds, or None when it cannot have one (see
    :func:`_layout_builder`)."""
    if len(set(keys)) != len(keys) or not all(type(k) is str and (k in spec.fields or k in spec.structured)
                                               for k in keys):
        return None
    if any(name not in keys for name in spec.required):
        return None
    return {"Slow": _Slow, "new": _new_model, "model": spec.model, "set_dict": _SET_DICT, "set_fields": _SET_FIELDS,
            "set_extra": _SET_EXTRA, "set_private": _SET_PRIVATE, "check": spec.check,
            "copy": spec.template.copy}  # (a copy of the defaults is faster than a dict display)


def _layout_body(spec: _Spec, keys: tuple, env: dict[str, Any], indent: str) -> list[str]:
    """The lines that build one item from its values ``raw0``, ``raw1``... (one per key, in
    order) into ``made``, binding the readers they call in ``env``."""
    lines: list[str] = []
    # one fields set for every item of the layout, read-only (the models are frozen: _specs)
    env["fields_set"] = _SharedFieldsSet(keys)
    for i, key in enumerate(keys):
        local, raw = f"v{i}", f"raw{i}"
        if key in spec.structured:
            env[f"s{i}"] = spec.structured[key]
            lines.append(f"{local} = s{i}({raw}, count)")
            continue
        memo, read, nullable = spec.fields[key]
        env[f"r{i}"] = read
        inline = _INLINE.get(read)
        if inline is not None and not nullable:  # the reader's own lines, raising _Slow as it does
            lines += [line.format(v=local, raw=raw) for line in inline]
            continue
        otherwise = f"None if {raw} is None else r{i}({raw})" if nullable else f"r{i}({raw})"
        if memo is None:
            lines.append(f"{local} = {otherwise}")
            continue
        # the memo's keys are texts: any other value is not in it (a list or a mapping
        # raises TypeError there, as the validator would refuse it: the models' way)
        env[f"m{i}"] = memo.get
        lines += [f"{local} = m{i}({raw})",
                  f"if {local} is None:",
                  f"    {local} = {otherwise}"]
    lines.append("values = copy()")
    lines += [f"values[{key!r}] = v{i}" for i, key in enumerate(keys)]
    if spec.check is not None and not spec.watched.isdisjoint(keys):
        lines.append("check(values)")
    lines += ["made = new(model)",
              "set_dict(made, values)",
              "set_fields(made, fields_set)",
              "set_extra(made, None)",
              "set_private(made, None)"]
    return [indent + line for line in lines]


def _compiled(lines: list[str], env: dict[str, Any], spec: _Spec, name: str) -> Any:
    exec(compile("\n".join(lines), f"<fast reader: {spec.model.__name__}>", "exec"), env)  # noqa: S102
    return env[name]


class _Mismatch(Exception):
    """A run builder (:func:`_run_builder`) met an item of another layout."""


_new_model = object.__new__
_BUILDERS: dict[type[BaseModel], Any] = {}


def _one(model: type[BaseModel]) -> Any:
    def read(value: Any, count: list[int]) -> BaseModel:
        return _BUILDERS[model](value, count)
    return read


def _many(model: type[BaseModel]) -> Any:
    def read(value: Any, count: list[int]) -> tuple[BaseModel, ...]:
        if type(value) is not list:
            raise _Slow
        out: list[BaseModel] = []
        run = _LAST_RUN.get(model)
        if run is not None:  # the items of the last list read whole by one run builder
            try:
                run(value, out, count)
                return tuple(out)
            except _Mismatch:  # an item of another layout: the rest one by one
                pass
        build, layout = _BUILDERS[model], _LAYOUTS_MADE[model].get
        keys = first = None
        for item in value[len(out):]:  # an item of a layout met before goes straight to its builder
            if type(item) is dict:
                keys = tuple(item)
                fast = layout(keys)
            else:
                keys = fast = None
            out.append(fast(item, count) if fast is not None else build(item, count))
            if first is None:
                first = keys
            elif keys != first:
                first = ()
        if first and keys == first:  # every item read one by one had one layout: a run builder for it
            _remember_run(model, first)
        return tuple(out)
    return read


#: The run builders (:func:`_run_builder`) made, per model: ``{keys: run}`` (None for a
#: layout refused), bounded as the layouts; and the one of the last list read whole by
#: items of one layout, which the next list tries first.
_RUNS_MADE: dict[type[BaseModel], dict[tuple, Any]] = {}
_LAST_RUN: dict[type[BaseModel], Any] = {}


def _remember_run(model: type[BaseModel], keys: tuple) -> None:
    runs = _RUNS_MADE[model]
    if keys not in runs:
        if len(runs) >= _MAX_LAYOUTS:
            return
        runs[keys] = _run_builder(_SPECS[model], keys)
    _LAST_RUN[model] = runs[keys]


def _check_product(values: dict[str, Any]) -> None:
    if values["facts"]:
        _no_flag_facts(values["facts"], FLAG_FACTS, "product")


def _check_ids(materials: tuple[BaseModel, ...]) -> None:
    """:func:`_unique_ids` in one pass of C loops: a repeated id is left to the models."""
    if len({material.id for material in materials}) != len(materials):
        raise _Slow


def _check_material(values: dict[str, Any]) -> None:
    if values["materials"]:
        _check_ids(values["materials"])
    if values["facts"]:
        _no_flag_facts(values["facts"], MATERIAL_FLAG_FACTS, "material")
    polymer = values["polymer_weight_kg"]
    if polymer is not None and values["weight_kg"] is not None and polymer > values["weight_kg"]:
        raise _Slow


def _check_bom(values: dict[str, Any]) -> None:
    if values["materials"]:
        _check_ids(values["materials"])


#: The checks across fields that the fast reader repeats, by model and by the names of the
#: models' own validators: a model given another validator is left to pydantic.
_CHECKS = {
    BOM: (_check_bom, {"check_unique_ids"}),
    Product: (_check_product, {"check_flag_facts"}),
    Material: (_check_material, {"check_unique_ids", "check_flag_facts", "check_polymer_weight"}),
    Process: (None, set()),
}


def _specs() -> bool:
    for model, (check, validators) in _CHECKS.items():
        decorators = model.__pydantic_decorators__
        if (set(decorators.field_validators) != validators or decorators.model_validators or decorators.validators
                or not model.model_config.get("frozen")
                or decorators.root_validators or model.__private_attributes__ or model.__pydantic_post_init__):
            return False
        spec = _spec(model, check)
        if spec is None:
            return False
        _SPECS[model] = spec
        _BUILDERS[model] = _builder(spec)
    return _SET_DICT is not None


FAST_READER = _specs()  # False: bom_from_json always takes the models' way


def _read_fast(parse: Any, text: str | bytes | bytearray) -> tuple[BOM, int] | None:
    """The BOM built from ``parse(text)`` and the number of key/value pairs read, or None."""
    count = [0]
    try:
        return _BUILDERS[BOM](parse(text), count), count[0]
    except Exception:  # noqa: BLE001 - whatever it is, the models' way says it properly
        return None


def _parse_fast(text: str | bytes | bytearray) -> Any:
    """JSON as orjson parses it (in Rust; its keys cached): a number with a fraction or an
    exponent, or an integer past 64 bits, is a binary float here, which every validator of
    the fast reader refuses, so such a text is read again by :func:`_parse_exact`; a text
    orjson refuses (a lone surrogate, ``NaN``, nesting past its limit) is too."""
    return orjson.loads(text)


def _parse_exact(text: str | bytes | bytearray) -> Any:
    """JSON with every number exact: ``Decimal`` straight from its source text (a lone
    surrogate refused, as by :func:`loads_json`)."""
    data = json.loads(text, parse_float=Decimal)
    _no_lone_surrogates(text, data)
    return data


def bom_from_json(text: str | bytes | bytearray) -> BOM | None:
    """One BOM from its JSON text, read fast: the same :class:`BOM` (the same values, the
    same fields set) as ``bom_from_data(loads_json(text))``, built by the models' own
    validators without pydantic's machinery. None when the text is anything but a plain
    valid BOM (invalid JSON, a duplicate key, a number in a text field, any problem at all):
    then take the models' way, which gives the error messages. Duplicate keys are looked for
    only when the text has more colons than the pairs read (a colon in a string, or a key
    given twice and kept once).

    The text is parsed by orjson first, and by ``json.loads`` with exact decimals only when
    that fails: numbers are exact either way, as a binary float (a JSON number with a
    fraction or an exponent, or an integer past 64 bits, as orjson reads them) is refused by
    every validator of the fast reader and never reaches a BOM."""
    if not FAST_READER:
        return None
    if ("\\u0000" if isinstance(text, str) else b"\\u0000") in text:
        return None  # a NUL, perhaps: the models' way refuses it at its path (_nul_problems)
    read = _read_fast(_parse_fast, text) or _read_fast(_parse_exact, text)
    if read is None:
        return None
    bom, pairs = read
    if text.count(":" if isinstance(text, str) else b":") == pairs:
        return bom  # every pair has its colon: no key was given twice (and kept once)
    try:  # a colon in a string, or a duplicate key: the exact reader tells
        loads_json(text)
    except (ValueError, RecursionError):
        return None
    return bom
