"""Request bodies to BOMs, with the readers the CLI uses.

In: the bytes of a request body, its ``Content-Type`` and an optional ``format`` query
parameter. Out: the BOM (:func:`origin_rules.files.boms.loads_bom`, so YAML numbers stay
exact decimals, duplicate keys are refused and every error names its field path and line),
its text as received and its format; or an :class:`~origin_rules.service.errors.ApiError`
(422 with the problems, 415 for a type the endpoint does not take).
Batch inputs: the file format from ``format`` or the ``Content-Type``.
"""

from __future__ import annotations

from ..files.boms import loads_bom
from ..model.bom import BOM, BomError
from .errors import ApiError, bom_error, problem

__all__ = ["BODY_FILE", "BATCH_FORMATS", "batch_format", "count_records", "read_body", "read_bom_body", "text_of"]

BODY_FILE = "body"  # the name BOM problems give as their file

_JSON_TYPES = {"application/json"}
_YAML_TYPES = {"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain"}
BATCH_FORMATS = {"jsonl": ".jsonl", "csv": ".csv", "xlsx": ".xlsx", "yaml": ".yaml", "json": ".json"}
_BATCH_TYPES = {
    "application/x-ndjson": "jsonl", "application/jsonl": "jsonl", "application/x-jsonlines": "jsonl",
    "text/csv": "csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/yaml": "yaml", "text/yaml": "yaml", "application/json": "json",
}


async def read_body(request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is larger than ``limit`` bytes
    (by its ``Content-Length``, or while it streams in)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"the body is larger than {limit:,} bytes")
    data = bytearray()
    async for chunk in request.stream():
        data.extend(chunk)
        if len(data) > limit:
            raise ApiError(413, f"the body is larger than {limit:,} bytes")
    return bytes(data)


def count_records(data: bytes, fmt: str, limit: int) -> int:
    """How many records a batch file holds, as far as needed to know whether it is more
    than ``limit``: non-blank lines of JSON Lines, data rows of CSV and XLSX (a product over
    several rows counts each row), items of a YAML/JSON list."""
    if fmt == "jsonl":
        return sum(1 for line in data.splitlines() if line.strip())
    if fmt == "csv":
        return max(sum(1 for line in data.splitlines() if line.strip()) - 1, 0)
    if fmt == "xlsx":
        import io

        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
            return max((sheet.max_row or 0) - 1, 0)
        except Exception:  # noqa: BLE001 - not a workbook: the batch reports it as its readers do
            return 0
    try:
        import json

        import yaml

        value = json.loads(data) if fmt == "json" else yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except Exception:  # noqa: BLE001 - unreadable: the batch reports it with its line
        return 0
    return len(value) if isinstance(value, list) else 1


def _media(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def text_of(body: bytes) -> str:
    if not body.strip():
        raise ApiError(422, "the body holds no BOM (it is empty)", [problem("the body holds no BOM (it is empty)")])
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApiError(422, "the body is not UTF-8 text",
                       [problem(f"cannot read: not UTF-8 text (byte {exc.start})")]) from None


def read_bom_body(body: bytes, content_type: str | None, fmt: str | None) -> tuple[BOM, str, str]:
    """``(bom, text as received, "yaml" | "json")``; JSON by ``Content-Type: application/json``
    or ``format=json``, YAML otherwise (``application/yaml``, ``text/yaml``, none)."""
    media = _media(content_type)
    if fmt is None:
        if media in _JSON_TYPES or media.endswith("+json"):
            fmt = "json"
        elif media in _YAML_TYPES or media in ("", "application/octet-stream", "application/x-www-form-urlencoded"):
            fmt = "yaml"
        else:
            raise ApiError(415, f"a BOM is sent as application/json or application/yaml, not {media}",
                           [problem(f"unsupported Content-Type `{media}`", "header.content-type")])
    text = text_of(body)
    try:
        return loads_bom(text, format=fmt, file=BODY_FILE), text, fmt
    except BomError as exc:
        raise bom_error(exc) from None


def batch_format(content_type: str | None, fmt: str | None) -> str:
    """The batch input's format: ``format`` when given, else by ``Content-Type``."""
    if fmt is None:
        fmt = _BATCH_TYPES.get(_media(content_type))
    if fmt not in BATCH_FORMATS:
        raise ApiError(415, "say what the batch file is: format=jsonl|csv|xlsx|yaml|json or its Content-Type",
                       [problem("unknown batch format: expected jsonl, csv, xlsx, yaml or json", "query.format")])
    return fmt
