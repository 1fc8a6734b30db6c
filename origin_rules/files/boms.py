"""Reading BOMs from files: YAML, JSON, JSON Lines and flat CSV.

In: a path. Out: :func:`read_bom` returns one :class:`~origin_rules.model.bom.BOM`;
:func:`read_boms` returns an iterator of :class:`BomRecord`, one per input record, each
holding either the BOM or the :class:`~origin_rules.model.bom.BomError` that explains what is
wrong with it. One bad record never stops the others. A file that cannot be read at all
(missing, not UTF-8, broken YAML/JSON syntax, a CSV header naming unknown columns) raises
:class:`~origin_rules.model.bom.BomError` when ``read_boms`` is called.

Formats, by extension:

- ``.yaml``/``.yml``: one BOM, a list of BOMs, or several ``---`` documents. Numbers are
  read exactly from the source text (``12.5`` is ``Decimal('12.5')``, never a float);
  booleans are only ``true``/``false`` (so ``NO`` stays Norway), ``0101`` stays text;
  duplicate keys are errors. Field errors carry the line of the field.
- ``.json``: one BOM or a list; numbers become ``Decimal``/``int``, never ``float``.
- ``.jsonl``/``.ndjson``: one BOM per line, read lazily; blank lines are skipped.
- ``.csv``: one row per material, read lazily. Columns (header row, any order):

  ``product.id`` (required) and any of ``product.description``, ``product.hs``,
  ``product.produced_in``, ``product.imported_from``, ``product.currency``, ``product.transaction_value``,
  ``product.net_cost``, ``product.total_cost``, ``product.fob``, ``product.ex_works``,
  ``product.weight_kg``, ``product.component_weight_kg``, ``product.wholly_obtained``, ``product.end_use``,
  ``product.facts``, ``product.processes``, ``product.retail_set``,
  ``product.imported_unassembled``, ``product.packaging_only``, ``product.diluted_only``;

  ``material.id``, ``material.description``, ``material.hs``, ``material.origin``,
  ``material.originating``, ``material.value``, ``material.weight_kg``,
  ``material.polymer_weight_kg``, ``material.quantity``, ``material.kind``, ``material.wholly_obtained``,
  ``material.transaction_value``, ``material.net_cost``, ``material.total_cost``,
  ``material.fob``, ``material.ex_works``, ``material.end_use``, ``material.facts``,
  ``material.processes``, ``material.provided_as_part``, ``material.in_component``,
  ``material.elastomeric``, ``material.component_weight_kg``, and ``material.parent``.

  Rows of one product are consecutive and share ``product.id``; its product columns are
  repeated on each row or left empty after the first, but never contradict each other. A
  row whose material columns are all empty only carries the product (a product with no
  materials). An empty cell is a missing field. ``originating`` is ``true``/``false``
  (``yes``/``no``, ``1``/``0``), empty or ``unknown``, or per agreement ``USMCA; CPTPP``
  (the agreements it originates under) or ``USMCA=true; CPTPP=false``. ``processes`` is
  ``name@COUNTRY`` entries separated by ``;`` (``cut and sewn@MX; dyeing@US``); ``facts``
  is ``name=value`` entries separated by ``;`` (``good=body_stamping; lvc=41.5``).
  ``material.parent`` names the id of another material of the same product: the row is
  then a material of that sub-assembly (any depth, any row order; the parent id must be
  unique within the product). Positions and lines are the physical line of the group's
  first row (the header is line 1).
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from origin_rules.model.bom import (
    BOM, BomError, BomProblem, Loc, SourceDecimal, SourceInt, bom_from_data, bom_from_json, line_at, loads_json,
)

from .columns import Column, header_columns

__all__ = [
    "BomRecord", "read_bom", "read_boms", "loads_bom",
    # the pieces batch and the rule tests reuse, so they report exactly what read_boms reports
    "csv_group", "csv_header", "csv_problem", "json_problem", "jsonl_record", "node_lines", "not_utf8", "product_key", "bom_record", "too_deep",
    "yaml_documents", "yaml_file", "raw_records",
]

_FORMATS = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}


@dataclass(frozen=True, slots=True)
class BomRecord:
    """One input record of a batch: its BOM, or the error explaining why there is none.

    ``position`` is the line number for JSON Lines and CSV (first row), the index in a
    YAML/JSON list (or of the ``---`` document), ``0`` for a file holding one BOM."""

    source: str
    position: int
    product_id: str | None = None
    bom: BOM | None = None
    error: BomError | None = None
    line: int | None = None

    @property
    def ok(self) -> bool:
        return self.bom is not None


# ---------------------------------------------------------------------------- YAML


class _Strict:
    """Mixed into a loader: YAML 1.2 core scalars, exact decimals and no duplicate keys."""

    yaml_implicit_resolvers: dict = {}
    _plain_tags: dict[str, str]  # each loader class its own (set with its constructors, below)

    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        """The tag of a node, as PyYAML's resolver gives it (libyaml asks for each node: a
        fifth of the time of reading a large BOM). Without path resolvers (the loaders have
        none) it depends on the node's kind and, for a plain scalar, on its text alone: a
        quoted scalar is a string, and a plain one's tag is remembered by its text."""
        if self.yaml_path_resolvers:
            return super().resolve(kind, value, implicit)  # type: ignore[misc]
        if kind is ScalarNode:
            if not implicit[0]:
                return self.DEFAULT_SCALAR_TAG  # type: ignore[attr-defined]
            tag = self._plain_tags.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)  # type: ignore[misc]
                if len(value) <= 64 and len(self._plain_tags) < 65536:
                    self._plain_tags[value] = tag
            return tag
        return super().resolve(kind, value, implicit)  # type: ignore[misc]

    def construct_mapping(self, node: Node, deep: bool = False) -> dict:
        if isinstance(node, MappingNode):
            seen: set[str] = set()
            for key_node, _ in node.value:
                if isinstance(key_node, ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                    if key_node.value in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"duplicate key `{key_node.value}`", key_node.start_mark)
                    seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc]


class _Loader(_Strict, yaml.SafeLoader):
    """The pure-Python loader (positions of reader errors are in characters)."""


# libyaml, when PyYAML was built with it, parses several times faster (50,000 materials in
# seconds, not minutes) and limits nesting to a depth it can handle; the scalars, decimals
# and duplicate-key check are the same (they are resolved and built in Python). Its reader
# errors count positions in UTF-8 bytes.
_CSafeLoader = getattr(yaml, "CSafeLoader", None)
_FastLoader: type | None = type("_FastLoader", (_Strict, _CSafeLoader), {}) if _CSafeLoader is not None else None
_LOADERS = [cls for cls in (_Loader, _FastLoader) if cls is not None]

_LEADING_ZERO = re.compile(r"^[-+]?0\d")


_MAX_INT_DIGITS = 4000  # Python refuses to convert longer digit strings to int


def _yaml_int(loader: _Loader, node: ScalarNode) -> Any:
    text = node.value
    if _LEADING_ZERO.match(text):
        return text  # 0101 is a code, not an octal number
    if len(text) > _MAX_INT_DIGITS:
        return text  # the model says it is too large (or keeps it as text where text is meant)
    if re.fullmatch(r"[-+]?\d+", text):
        return SourceInt(text)
    return loader.construct_yaml_int(node)


def _yaml_decimal(loader: _Loader, node: ScalarNode) -> Any:
    text = node.value.strip()
    if _LEADING_ZERO.match(text):
        return text
    special = {".inf": "Infinity", "+.inf": "Infinity", "-.inf": "-Infinity", ".nan": "NaN"}
    try:
        return SourceDecimal(special.get(text.lower(), text))
    except InvalidOperation:
        return text  # the model says what was expected


for _tag, _pattern, _first, _cls in [(*_r, _c) for _c in _LOADERS for _r in [
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^[-+]?[0-9]+$", "-+0123456789"),
    ("float", r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
     "-+0123456789."),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("merge", r"^(?:<<)$", "<"),
]]:
    _cls.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_pattern), list(_first))
for _cls in _LOADERS:
    _cls.add_constructor("tag:yaml.org,2002:int", _yaml_int)
    _cls.add_constructor("tag:yaml.org,2002:float", _yaml_decimal)
    _cls._plain_tags = {}


def node_lines(node: Node, path: Loc = (), out: dict[Loc, int] | None = None) -> dict[Loc, int]:
    """Field location -> 1-based line, for every key and list item under ``node``."""
    out = {} if out is None else out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(key, ScalarNode):
                out[path + (key.value,)] = key.start_mark.line + 1
                node_lines(value, path + (key.value,), out)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            node_lines(item, path + (index,), out)
    return out


class _Unusual(Exception):
    """A document :func:`_construct` leaves to PyYAML's own constructor."""


_TAG = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL, _INT, _FLOAT, _SEQ, _MAP = (_TAG + t for t in ("str", "null", "bool", "int", "float", "seq", "map"))
_BOOLS = yaml.constructor.SafeConstructor.bool_values


def _construct(loader, node: Node) -> Any:
    """The document, as ``loader.construct_document`` builds it, for the YAML BOMs and rule
    tests are written in (strings, the core scalars, sequences, mappings with string keys,
    aliases); anything else (a merge key, an explicit tag, a key that is not a string, a
    duplicate key, a structure holding itself) is left to the loader's constructor, which
    builds it or reports the error as before. The same scalar constructors (exact decimals,
    leading zeros kept); an alias is the same object, as PyYAML makes it. PyYAML's generic
    constructor was a third of ``origin-rules test``; tests/test_yaml_construct.py compares
    the two on generated documents."""
    built: dict[int, Any] = {}
    pending: set[int] = set()

    def build(node: Node) -> Any:
        key = id(node)
        if key in built:
            return built[key]
        tag = node.tag
        if type(node) is ScalarNode:
            if tag == _STR:
                value: Any = node.value
            elif tag == _NULL:
                value = None
            elif tag == _INT:
                value = _yaml_int(loader, node)
            elif tag == _FLOAT:
                value = _yaml_decimal(loader, node)
            elif tag == _BOOL:
                value = _BOOLS[node.value.lower()]
            else:
                raise _Unusual
        elif key in pending:
            raise _Unusual  # a structure that holds itself
        elif type(node) is MappingNode and tag == _MAP:
            pending.add(key)
            value = {}
            seen: set[str] = set()
            for key_node, value_node in node.value:
                if type(key_node) is not ScalarNode or key_node.tag != _STR:
                    raise _Unusual  # a merge key, or a key that is not a string
                name = key_node.value
                if name in seen:
                    raise _Unusual  # the loader reports it, where it would
                seen.add(name)
                value[name] = build(value_node)
            pending.discard(key)
        elif type(node) is SequenceNode and tag == _SEQ:
            pending.add(key)
            value = [build(item) for item in node.value]
            pending.discard(key)
        else:
            raise _Unusual
        built[key] = value
        return value

    try:
        return build(node)
    except _Unusual:
        return loader.construct_document(node)


Document = tuple[Any, Node | None]  # data, and its YAML node for line numbers
_MAX_NODES = 2_000_000  # after expanding aliases: a guard against "billion laughs"


def _too_big(node: Node) -> bool:
    count, stack = 0, [node]
    while stack and count <= _MAX_NODES:
        item = stack.pop()
        count += 1
        if isinstance(item, SequenceNode):
            stack.extend(item.value)
        elif isinstance(item, MappingNode):
            stack.extend(v for pair in item.value for v in pair)
    return count > _MAX_NODES


def yaml_documents(text: str, file: str, *, empty_ok: bool = False) -> list[Document]:
    cls = _FastLoader or _Loader
    try:
        loader = cls(text)
    except yaml.reader.ReaderError as err:
        raise _reader_problem(err, text, file, in_bytes=cls is not _Loader) from None
    try:
        docs = []
        while loader.check_node():
            node = loader.get_node()
            if node is not None and "*" in text and _too_big(node):  # (no alias without a `*`)
                raise BomError(BomProblem("too large once its aliases are expanded", "", file, node.start_mark.line + 1))
            if node is not None:
                docs.append((_construct(loader, node), node))
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        what = ", ".join(str(p) for p in (err.context, err.problem) if p)
        raise BomError(BomProblem(f"invalid YAML: {what}", "", file,
                                  mark.line + 1 if mark else None, mark.column + 1 if mark else None)) from None
    except yaml.reader.ReaderError as err:
        raise _reader_problem(err, text, file, in_bytes=cls is not _Loader) from None
    except yaml.YAMLError as err:
        raise BomError(BomProblem(f"invalid YAML: {err}", "", file)) from None
    except RecursionError:
        raise BomError(BomProblem("invalid YAML: nested too deeply", "", file)) from None
    finally:
        loader.dispose()
    if not empty_ok and (not docs or all(data is None for data, _ in docs)):
        raise BomError(BomProblem("the file holds no BOM (it is empty)", "", file))
    return docs


def yaml_file(path: str | os.PathLike[str], what: str, holding: str | None = None,
              expected: str | None = None) -> tuple[str, Any, Any]:
    """The one YAML (or JSON) document of a settings file (rates, a certifier's profile):
    ``(file, data, node)``; BomError naming ``what`` when the file is unreadable or empty
    (saying what it should hold: ``expected``), or ``holding`` (default ``what``) when it
    holds another number of documents."""
    file = os.fspath(path)
    try:
        with open(file, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as err:
        raise BomError(BomProblem(f"cannot read the {what}: {err.strerror if isinstance(err, OSError) else err}",
                                  "", file)) from None
    docs = yaml_documents(text, file, empty_ok=True)
    if not docs or all(data is None for data, _ in docs):
        raise BomError(BomProblem(f"the {what} is empty" + (f": expected {expected}" if expected else ""), "", file))
    if len(docs) != 1:
        raise BomError(BomProblem(f"expected one YAML document holding the {holding or what}", "", file))
    data, node = docs[0]
    return file, data, node


def _reader_problem(err: yaml.reader.ReaderError, text: str, file: str, *, in_bytes: bool = False) -> BomError:
    """A character YAML does not allow (NUL, other control characters), with its line.
    ``in_bytes``: the error's position counts UTF-8 bytes (libyaml), not characters."""
    position = err.position if isinstance(err.position, int) else 0
    if in_bytes:
        position = len(text.encode("utf-8", "surrogatepass")[:position].decode("utf-8", "replace"))
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    char = err.character if isinstance(err.character, int) else 0
    return BomError(BomProblem(f"invalid YAML: the character U+{char:04X} is not allowed in YAML text", "", file, line, column))


def _json_documents(text: str, file: str) -> list[Document]:
    if not text.strip():
        raise BomError(BomProblem("the file holds no BOM (it is empty)", "", file))
    try:
        return [(loads_json(text), None)]
    except ValueError as err:
        raise BomError(json_problem(err, file)) from None
    except RecursionError:
        raise BomError(too_deep(file)) from None


def json_problem(err: ValueError, file: str, line_offset: int = 0) -> BomProblem:
    lineno, colno = getattr(err, "lineno", None), getattr(err, "colno", None)
    message = getattr(err, "msg", None) or str(err)
    line = (lineno + line_offset) if lineno is not None else (line_offset or None)
    return BomProblem(f"invalid JSON: {message[:1].lower() + message[1:]}", "", file, line, colno)


# ---------------------------------------------------------------------------- files


def _format(path: str | os.PathLike[str]) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in _FORMATS:
        raise BomError(BomProblem(
            f"unsupported file type `{suffix or Path(path).name}`: expected .yaml, .yml, .json, "
            ".jsonl, .ndjson or .csv", "", str(path)))
    return _FORMATS[suffix]


def _open(path: str | os.PathLike[str], binary: bool = False) -> Any:
    try:
        return open(path, "rb") if binary else open(path, encoding="utf-8-sig")
    except FileNotFoundError:
        raise BomError(BomProblem("cannot read: no such file", "", str(path))) from None
    except IsADirectoryError:
        raise BomError(BomProblem("cannot read: this is a directory, expected a file", "", str(path))) from None
    except OSError as err:
        raise BomError(BomProblem(f"cannot read: {err.strerror or err}", "", str(path))) from None


def _read_text(path: str | os.PathLike[str]) -> str:
    with _open(path) as handle:
        try:
            return handle.read()
        except UnicodeDecodeError as err:
            raise BomError(BomProblem(f"cannot read: not UTF-8 text (byte {err.start})", "", str(path))) from None


def _documents(path: str | os.PathLike[str], fmt: str) -> list[Document]:
    text = _read_text(path)
    return yaml_documents(text, str(path)) if fmt == "yaml" else _json_documents(text, str(path))


def _raw_product_id(data: Any) -> str | None:
    product = data.get("product") if isinstance(data, dict) else None
    pid = product.get("id") if isinstance(product, dict) else None
    if isinstance(pid, (str, int, Decimal)) and not isinstance(pid, bool) and str(pid).strip():
        text = str(pid).strip()
        return text if "\x00" not in text else None  # (refused: see model.bom._nul_problems)
    return None


def _loc(path: str) -> Loc:
    """``materials[1].hs`` -> ``('materials', 1, 'hs')``."""
    out: list[str | int] = []
    for part in re.split(r"[.\[\]]+", path):
        if part:
            out.append(int(part) if part.isdigit() else part)
    return tuple(out)


MAX_DEPTH = 50  # levels of sub-assemblies a BOM may nest (a determination nests deeper still)


def _line_of(path: str, lines: dict[Loc, int] | None, line: int | None) -> int | None:
    return line_at(_loc(path), lines, line)


def _checked(bom: BOM, *, file: str | None, lines: dict[Loc, int] | None, line: int | None) -> BOM:
    """The BOM, or :class:`BomError` with the plausibility errors (``BOMxxx`` codes of
    ``docs/errors.md``) that make it input no verdict should be given on, or sub-assemblies
    nested deeper than :data:`MAX_DEPTH` levels (no real BOM does; the explanation of such a
    one could not be written out)."""
    from origin_rules.model.plausibility import check_bom

    for path, _ in bom.walk() if any(m.materials for m in bom.materials) else ():
        if path.count("materials[") > MAX_DEPTH:
            raise BomError(BomProblem(f"sub-assemblies nested more than {MAX_DEPTH} levels deep", path, file,
                                      _line_of(path, lines, line)))
    problems = []
    for finding in check_bom(bom):
        if not finding.is_error:
            continue
        problems.append(BomProblem(f"{finding.message} [{finding.code}]", finding.path, file,
                                   _line_of(finding.path, lines, line)))
    if problems:
        raise BomError(problems)
    return bom


def _from_data(data: Any, *, file: str | None, lines: dict[Loc, int] | None = None, line: int | None = None) -> BOM:
    bom = bom_from_data(data, file=file, lines=lines, line=line)
    return _checked(bom, file=file, lines=lines, line=line)


def bom_record(file: str, position: int, data: Any, *, lines: dict[Loc, int] | None = None,
            line: int | None = None, problems: list[BomProblem] | None = None) -> BomRecord:
    product_id = _raw_product_id(data)
    try:
        bom = _from_data(data, file=file, lines=lines, line=line)
    except BomError as err:
        merged = sorted((problems or []) + err.problems, key=lambda p: p.line or 0)
        return BomRecord(file, position, product_id, error=BomError(merged), line=line)
    if problems:
        return BomRecord(file, position, bom.product.id, error=BomError(problems), line=line)
    return BomRecord(file, position, bom.product.id, bom=bom, line=line)


class _NodeLines(Mapping):
    """:func:`node_lines` of a node, worked out when first read: a BOM that reads without a
    problem or a warning never needs its lines (a fifth of reading a large YAML BOM).
    Pickled (to a batch worker) as the plain mapping."""

    __slots__ = ("_node", "_lines")

    def __init__(self, node: Node):
        self._node: Node | None = node
        self._lines: dict[Loc, int] | None = None

    def _all(self) -> dict[Loc, int]:
        if self._lines is None:
            assert self._node is not None
            self._lines, self._node = node_lines(self._node), None
        return self._lines

    def __getitem__(self, key: Loc) -> int:
        return self._all()[key]

    def __iter__(self) -> Iterator[Loc]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __contains__(self, key: object) -> bool:
        return key in self._all()

    def get(self, key: Loc, default: Any = None) -> Any:
        return self._all().get(key, default)

    def __reduce__(self) -> tuple:
        return (dict, (self._all(),))


def _lines(node: Node | None) -> tuple[Mapping[Loc, int], int | None]:
    return (_NodeLines(node), node.start_mark.line + 1) if node is not None else ({}, None)


RawRecord = tuple[int, Any, dict[Loc, int], int | None]  # position, data, field lines, first line


def _raw(docs: list[Document]) -> Iterator[RawRecord]:
    if len(docs) == 1 and isinstance(docs[0][0], list):
        data, node = docs[0]
        for index, item in enumerate(data):
            lines, first = _lines(node.value[index] if isinstance(node, SequenceNode) else None)
            yield index, item, lines, first
        return
    for index, (data, node) in enumerate(docs):
        if data is None and len(docs) > 1:
            continue  # an empty document, as after a trailing ---
        lines, first = _lines(node)
        yield index, data, lines, first


def _records(file: str, docs: list[Document]) -> Iterator[BomRecord]:
    for position, data, lines, first in _raw(docs):
        yield bom_record(file, position, data, lines=lines, line=first)


def raw_records(path: str | os.PathLike[str]) -> Iterator[RawRecord]:
    """The records of a YAML or JSON file as :func:`read_boms` finds them, not yet validated:
    ``(position, data, field lines, first line)``; ``bom_record(file, position, data,
    lines=..., line=...)`` turns each into the :class:`BomRecord` ``read_boms`` gives (a
    batch does that in its workers). :class:`BomError` when the file cannot be read."""
    fmt = _format(path)
    if fmt not in ("yaml", "json"):
        raise ValueError(f"raw_records reads YAML and JSON files, not {fmt}")
    return _raw(_documents(path, fmt))


def read_bom(path: str | os.PathLike[str]) -> BOM:
    """Read the one BOM in a file; :class:`BomError` names the file, field path and line."""
    file = str(path)
    fmt = _format(path)
    if fmt in ("yaml", "json"):
        docs = _documents(path, fmt)
        if len(docs) == 1 and not isinstance(docs[0][0], list):
            lines, first = _lines(docs[0][1])
            return _from_data(docs[0][0], file=file, lines=lines, line=first)
        count = len(docs[0][0]) if len(docs) == 1 else len(docs)
        raise BomError(BomProblem(f"expected one BOM, found {count}: read several with read_boms", "", file))
    records = list(read_boms(path))
    if len(records) != 1:
        raise BomError(BomProblem(f"expected one BOM, found {len(records)}: read several with read_boms", "", file))
    if records[0].error is not None:
        raise records[0].error
    assert records[0].bom is not None
    return records[0].bom


def loads_bom(text: str, *, format: str = "yaml", file: str = "<string>") -> BOM:
    """Read one BOM from YAML or JSON text (``format`` is ``yaml`` or ``json``)."""
    docs = yaml_documents(text, file) if format == "yaml" else _json_documents(text, file)
    if len(docs) != 1 or isinstance(docs[0][0], list):
        raise BomError(BomProblem("expected one BOM", "", file))
    lines, first = _lines(docs[0][1])
    return _from_data(docs[0][0], file=file, lines=lines, line=first)


def read_boms(path: str | os.PathLike[str]) -> Iterator[BomRecord]:
    """Every BOM record in a file, in order, each a BOM or an error (see the module doc)."""
    file = str(path)
    fmt = _format(path)
    if fmt in ("yaml", "json"):
        return _records(file, _documents(path, fmt))
    if fmt == "jsonl":
        _open(path, binary=True).close()
        return _jsonl_records(path)
    return _csv_records(path, csv_header(path))


def _text_lines(path: str | os.PathLike[str], bad: set[int]) -> Iterator[str]:
    """The file's lines as text, lazily; lines that are not UTF-8 are decoded with
    replacement characters and their numbers added to ``bad``."""
    with _open(path, binary=True) as handle:
        for lineno, raw in enumerate(handle, 1):
            try:
                yield raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError:
                bad.add(lineno)
                yield raw.decode("utf-8", errors="replace")


def not_utf8(file: str, line: int) -> BomProblem:
    return BomProblem("cannot read this line: not UTF-8 text", "", file, line)


def _jsonl_records(path: str | os.PathLike[str]) -> Iterator[BomRecord]:
    file = str(path)
    bad: set[int] = set()
    for lineno, text in enumerate(_text_lines(path, bad), 1):
        if lineno in bad:
            yield BomRecord(file, lineno, error=BomError(not_utf8(file, lineno)), line=lineno)
            continue
        if not text.strip():
            continue
        yield jsonl_record(file, lineno, text.rstrip())


def jsonl_record(file: str, lineno: int, text: str) -> BomRecord:
    """One line of a JSON Lines file as a record: a plain valid BOM is read fast
    (:func:`~origin_rules.model.bom.bom_from_json`); anything else, and a BOM that fails a
    plausibility check, the models' way, which words every problem."""
    bom = bom_from_json(text)
    if bom is not None:
        try:
            return BomRecord(file, lineno, bom.product.id, bom=_checked(bom, file=file, lines=None, line=lineno),
                             line=lineno)
        except BomError:
            pass  # read again below, so that the record is built as for any problem
    try:
        data = loads_json(text)
    except ValueError as err:
        return BomRecord(file, lineno, error=BomError(json_problem(err, file, lineno - 1)), line=lineno)
    except RecursionError:
        return BomRecord(file, lineno, error=BomError(too_deep(file, lineno)), line=lineno)
    return bom_record(file, lineno, data, line=lineno)


def too_deep(file: str, line: int | None = None) -> BomProblem:
    return BomProblem("invalid JSON: nested too deeply", "", file, line)


# ---------------------------------------------------------------------------- CSV

Row = tuple[int, list[str], bool]  # first line, cells, whether it was not UTF-8


def csv_header(path: str | os.PathLike[str]) -> list[Column] | None:
    file = str(path)
    bad: set[int] = set()
    lines = _text_lines(path, bad)
    try:
        header = next(csv.reader(lines, strict=True), None)
    except csv.Error as err:
        raise BomError(BomProblem(f"cannot read the CSV header: {err}", "", file, 1)) from None
    finally:
        lines.close()
    if bad:
        raise BomError(not_utf8(file, 1))
    if header is None:
        return None
    return header_columns(header, file, 1)


def csv_problem(err: csv.Error, line: int) -> str:
    """The message of a CSV row that cannot be read, starting on ``line``. The reader is
    strict: a quote that is never closed would otherwise take the rest of the file into one
    cell, the rows after it silently lost."""
    if str(err) == "unexpected end of data":
        return (f"bad CSV: a quoted cell of the row starting on line {line} is never closed: the rest of "
                "the file would be inside it (close the quote, or write a quote inside a quoted cell as \"\")")
    return f"bad CSV: {err}"


def _csv_records(path: str | os.PathLike[str], columns: list[Column] | None) -> Iterator[BomRecord]:
    if columns is None:
        return
    file = str(path)
    seen: set[str] = set()
    bad: set[int] = set()
    reader = csv.reader(_text_lines(path, bad), strict=True)
    next(reader, None)
    group: list[Row] = []
    group_key = ""
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader, None)
        except csv.Error as err:
            if group:
                yield csv_group(file, group, columns, seen)
                group = []
            yield BomRecord(file, start, error=BomError(BomProblem(csv_problem(err, start), "", file, start)), line=start)
            start = reader.line_num + 1
            continue
        if row is None:
            break
        line, start = start, reader.line_num + 1
        garbled = any(n in bad for n in range(line, start))
        if not garbled and not any(cell.strip() for cell in row):
            continue
        key = product_key(row, columns)
        if group and key != group_key:
            yield csv_group(file, group, columns, seen)
            group = []
        group_key = key
        group.append((line, row, garbled))
    if group:
        yield csv_group(file, group, columns, seen)


def read_xlsx_boms(path: str | os.PathLike[str]) -> Iterator[BomRecord]:
    """The BOM records of an XLSX workbook (the flat layout of CSV, one product's rows after
    another), in order, each a BOM or an error; raises :class:`BomError` when the workbook
    cannot be opened."""
    from .xlsx import open_sheet

    file = str(path)
    sheet = open_sheet(file)
    try:
        columns = sheet.columns
        if columns is None:
            return
        seen: set[str] = set()
        group: list[Row] = []
        key = None
        for number, cells in sheet.rows():
            if not any(c.strip() for c in cells):
                continue
            this = product_key(cells, columns)
            if group and this != key:
                yield csv_group(file, group, columns, seen)
                group = []
            key = this
            group.append((number, cells, False))
        if group:
            yield csv_group(file, group, columns, seen)
    finally:
        sheet.close()


def _cell(row: list[str], index: int) -> str:
    return row[index].strip() if index < len(row) else ""


def product_key(row: list[str], columns: list[Column]) -> str:
    return next(_cell(row, i) for i, scope, field in columns if (scope, field) == ("product", "id"))


def _processes(text: str) -> list[dict[str, str]]:
    out = []
    for entry in text.split(";"):
        name, at, country = entry.strip().rpartition("@")
        if not at:
            name, country = country, ""
        if name.strip():
            out.append({"name": name.strip(), **({"country": country.strip()} if country.strip() else {})})
    return out


def _facts(text: str) -> Any:
    """A CSV ``facts`` cell: ``name=value`` entries separated by ``;`` (``good=body_stamping;
    lvc=41.5``). Text that is not such a list is passed on for the model to refuse; a name
    given twice is :class:`_Twice`."""
    entries = [e.strip() for e in text.split(";") if e.strip()]
    if entries and all("=" in e for e in entries):
        return _entries(entries, "fact", str.strip)
    return text


class _Twice(ValueError):
    """A CSV cell of ``name=value`` entries that names one twice (the message says which)."""


def _entries(entries: list[str], what: str, same: Callable[[str], str]) -> dict[str, str]:
    """``name=value`` entries as a mapping; a name given twice (as ``same`` compares names)
    is refused: which one holds would be a guess (a mapping keeps the last)."""
    out: dict[str, str] = {}
    seen: dict[str, str] = {}
    for key, _, value in (e.partition("=") for e in entries):
        name = key.strip()
        if same(name) in seen:
            raise _Twice(f"{what} `{name}` is given twice in the cell: give each {what} once")
        seen[same(name)] = name
        out[name] = value.strip()
    return out


_FLAG_WORDS = {"true", "false", "yes", "no", "y", "n", "1", "0", "unknown", "null"}


def _originating(text: str) -> Any:
    """A CSV ``material.originating`` cell: a flag word, or per agreement ``USMCA; CPTPP``
    (the agreements it originates under) or ``USMCA=true; CPTPP=false``."""
    if text.strip().lower() in _FLAG_WORDS:
        return text
    entries = [e.strip() for e in text.split(";") if e.strip()]
    if entries and all("=" in e for e in entries):
        return _entries(entries, "agreement", lambda name: name.strip().lower())  # (names match in any case)
    return entries


def csv_group(file: str, rows: list[Row], columns: list[Column], seen: set[str]) -> BomRecord:
    first = rows[0][0]
    key = product_key(rows[0][1], columns)
    problems: list[BomProblem] = []
    if not key:
        problems.append(BomProblem("missing `product.id`: every row needs its product's id", "product.id", file, first))
    elif key in seen:
        problems.append(BomProblem(f"rows of product `{key}` must be consecutive; it appeared on earlier rows",
                                   "product.id", file, first))
    seen.add(key)
    width = max(i for i, _, _ in columns) + 1
    product: dict[str, Any] = {}
    product_text: dict[str, str] = {}
    lines: dict[Loc, int] = {(): first, ("product",): first}
    entries: list[tuple[int, str | None, dict[str, Any]]] = []
    for line, row, garbled in rows:
        if garbled:
            problems.append(not_utf8(file, line))
        if any(cell.strip() for cell in row[width:]):
            problems.append(BomProblem(f"row has {len(row)} cells but the header names {width} columns", "", file, line))
        material: dict[str, Any] = {}
        for index, scope, field in columns:
            text = _cell(row, index)
            if not text:
                continue
            try:
                value: Any = (_processes(text) if field == "processes" else _originating(text) if field == "originating"
                              else _facts(text) if field == "facts" else text)
            except _Twice as twice:
                problems.append(BomProblem(str(twice), f"{scope}.{field}", file, line))
                continue
            if scope == "material":
                material[field] = value
            elif field not in product:
                product[field], product_text[field], lines[("product", field)] = value, text, line
            elif product_text[field] != text:
                problems.append(BomProblem(
                    f"`product.{field}` is {json.dumps(text)} here but {json.dumps(product_text[field])} on line "
                    f"{lines[('product', field)]}: product columns must repeat the same values",
                    f"product.{field}", file, line))
        if material:
            entries.append((line, material.pop("parent", None), material))
    top = _nest(file, key, entries, problems)
    _material_lines(top, ("materials",), entries, lines)
    return bom_record(file, first, {"product": product, "materials": top}, lines=lines, line=first, problems=problems)


def _nest(file: str, key: str, entries: list[tuple[int, str | None, dict[str, Any]]],
          problems: list[BomProblem]) -> list[dict[str, Any]]:
    """Attach rows with ``material.parent`` to their parent; return the top-level materials."""
    by_id: dict[str, list[dict[str, Any]]] = {}
    for _, _, material in entries:
        if "id" in material:
            by_id.setdefault(material["id"], []).append(material)
    top: list[dict[str, Any]] = []
    placed: set[int] = set()
    for line, parent, material in entries:
        if parent is None:
            top.append(material)
            continue
        targets = by_id.get(parent, [])
        if len(targets) != 1 or targets[0] is material:
            why = ("is the id of several materials" if len(targets) > 1 else
                   "is this material itself" if targets else f"is no material of product `{key}`")
            problems.append(BomProblem(f"`material.parent` names `{parent}`, which {why}", "material.parent", file, line))
            placed.add(id(material))
            continue
        targets[0].setdefault("materials", []).append(material)
    reached: set[int] = set()
    stack = list(top)
    while stack:
        material = stack.pop()
        reached.add(id(material))
        stack.extend(material.get("materials", []))
    for line, parent, material in entries:
        if id(material) not in reached and id(material) not in placed:
            problems.append(BomProblem(
                f"`material.parent` `{parent}` leads round in a circle back to this material", "material.parent", file, line))
    return top


def _material_lines(materials: list[dict[str, Any]], path: Loc, entries: list[tuple[int, str | None, dict[str, Any]]],
                    lines: dict[Loc, int]) -> None:
    line_of = {id(material): line for line, _, material in entries}
    stack = [(path, materials)]
    while stack:
        prefix, items = stack.pop()
        for index, material in enumerate(items):
            lines[prefix + (index,)] = line_of[id(material)]
            if material.get("materials"):
                stack.append((prefix + (index, "materials"), material["materials"]))
