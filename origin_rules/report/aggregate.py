"""Batch results -> the figures of the impact report, read in one streaming pass.

In: the JSON Lines output of ``origin-rules batch`` (see :mod:`origin_rules.batch.records`).
Out: a :class:`Portfolio`: verdict counts per agreement and scenario, the products that
lose qualification under each scenario (with the reason and the materials behind it), the
margins of every product to each RVC threshold, the origins and HS headings of the
materials that cause failures, the warnings about the input (``BOM1xx`` of
``docs/errors.md``: counted per code, with the first products that carry them), and the
unreadable records.

Counting units, stated in the report: *shipments* are output records; *products* are
distinct product ids (a product's figures are those of its most recent shipment in the
file). Memory grows with the number of distinct products, not with the number of records.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from itertools import repeat
from pathlib import Path
from typing import Any

import orjson

__all__ = ["Loss", "Portfolio", "ResultsError", "Threshold", "Warned", "read_results"]

AT_RISK_POINTS = Decimal(5)
#: The digits a figure may have before the point, and after it. Batch output stays far
#: within (an amount is below 10^41 with 40 decimal places at most, a converted one the
#: product of two such; percentages have 40 significant digits): beyond, the sums and
#: medians of the report could overflow, and a number's text could fill pages.
MAX_DIGITS = 100
MAX_ERRORS_KEPT = 50
MAX_WARNED_KEPT = 50
VERDICT_ORDER = ("qualifies", "does_not_qualify", "insufficient_data", "no_rule")


def half_up(value: Decimal, places: int) -> Decimal:
    """``value`` rounded half-up to ``places``, as every figure is shown (Python's formatting
    rounds half to even: 11.845 showed as 11.84)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


class ResultsError(Exception):
    """The results file cannot be read (not batch output, bad JSON)."""


class OutOfRange(ValueError):
    """A number with more than :data:`MAX_DIGITS` digits before or after the point
    (``value``: as the results have it)."""

    def __init__(self, value: Any):
        super().__init__(value)
        self.value = value


@dataclass
class Loss:
    """A product that qualifies under the agreement but not under one of its scenarios."""

    product_id: str
    hs: str | None
    shipments: int = 0
    verdict: str = ""
    reason: str = ""
    causes: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Warned:
    """A product whose BOM carries warnings: where its first such shipment is, and each
    warning (code, field path, message) with the agreements and scenarios it holds under."""

    product_id: str
    hs: str | None
    where: str
    shipments: int = 0
    warnings: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Threshold:
    """One threshold of one agreement or scenario, e.g. USMCA ``rvc_net_cost >= 70``."""

    agreement: str
    figure: str
    comparison: str
    threshold: Decimal

    @property
    def label(self) -> str:
        name = self.figure.replace("rvc_", "RVC ").replace("max_nom_", "MaxNOM ").replace("_", " ")
        return f"{name} {self.comparison} {_plain(self.threshold)}%"


def _plain(number: Decimal) -> str:
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass
class Portfolio:
    source: str
    records: int = 0
    errors: int = 0
    names: list[str] = field(default_factory=list)
    base_of: dict[str, str] = field(default_factory=dict)
    verdicts: dict[str, Counter] = field(default_factory=dict)  # shipments per verdict
    products: set[str] = field(default_factory=set)
    product_verdicts: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> product -> verdict
    losses: dict[str, dict[str, Loss]] = field(default_factory=dict)  # scenario -> product -> loss
    loss_shipments: Counter = field(default_factory=Counter)
    margins: dict[Threshold, dict[str, Decimal]] = field(default_factory=dict)  # threshold -> product -> margin
    origins: Counter = field(default_factory=Counter)  # failures (shipment x agreement) naming the origin
    headings: Counter = field(default_factory=Counter)
    origin_value: Counter = field(default_factory=Counter)
    error_samples: list[dict[str, Any]] = field(default_factory=list)
    warned_records: int = 0  # shipments whose BOM carries a warning
    warned_products: set[str] = field(default_factory=set)
    warning_codes: Counter = field(default_factory=Counter)  # shipments per warning code
    warning_code_products: dict[str, set[str]] = field(default_factory=dict)  # code -> products
    warned_samples: dict[str, Warned] = field(default_factory=dict)  # the first products, in order

    @property
    def scenarios(self) -> list[str]:
        return [n for n in self.names if n in self.base_of]

    def product_counts(self, name: str) -> Counter:
        return Counter(self.product_verdicts.get(name, {}).values())

    def own_thresholds(self) -> list[Threshold]:
        """Thresholds to show: a scenario's are left out where they are its agreement's,
        with the same margins for the same products (the scenario did not change them)."""
        out = []
        for t in self.margins:
            base = self.base_of.get(t.agreement)
            if base is not None:
                same = Threshold(base, t.figure, t.comparison, t.threshold)
                if self.margins.get(same) == self.margins[t]:
                    continue
            out.append(t)
        return out

    def at_risk(self, threshold: Threshold) -> tuple[int, int, int]:
        """(products tested, failing, holding within 5 points) for one threshold."""
        margins = self.margins.get(threshold, {}).values()
        failing = sum(1 for m in margins if m < 0)
        close = sum(1 for m in margins if 0 <= m < AT_RISK_POINTS)
        return len(margins), failing, close


_DICT = repeat(dict)  # (isinstance's second argument for each value of a list, in map)


def _objects(value: Any, what: str) -> list[dict[str, Any]]:
    """A list of JSON objects (missing or null: none); anything else is not batch output."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(map(isinstance, value, _DICT)):
        raise ResultsError(f"`{what}` is not a list of objects: is this batch output?")
    return value


def _decimal(text: Any) -> Decimal | None:
    """A finite decimal, or None (missing, not a number, NaN or infinite); the answers for
    texts remembered (a batch's shipments repeat their products' figures). :class:`OutOfRange`
    for a number no batch output has (checked once per text, as it is first read)."""
    if type(text) is str:
        known = _DECIMALS.get(text, _UNKNOWN)
        if known is not _UNKNOWN:
            return known
        if len(_DECIMALS) >= 65_536:
            _DECIMALS.clear()
        found = _DECIMALS[text] = _read_decimal(text)
        return found
    return _read_decimal(text)


_DECIMALS: dict[str, Decimal | None] = {}
_UNKNOWN = object()


def _read_decimal(text: Any) -> Decimal | None:
    if isinstance(text, (bool, dict, list)) or text is None:
        return None
    try:
        number = Decimal(str(text))
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite():
        return None
    if (type(text) is not str or len(text) > MAX_DIGITS or "e" in text or "E" in text) and (
            number.adjusted() >= MAX_DIGITS or number.as_tuple().exponent < -MAX_DIGITS):
        raise OutOfRange(text)  # (a short text without an exponent, as batch writes them, is in range)
    return number


#: The numbers of a determination the report reads, by list: (list, its fields).
_READ = (("thresholds", ("value", "threshold", "margin")), ("causes", ("value",)))


def _field_of(entries: list[dict[str, Any]], value: Any) -> str:
    """The field path of ``value``, found again by identity (for an error only)."""
    for i, entry in enumerate(entries):
        for key, fields in _READ:
            for j, item in enumerate(entry.get(key) or ()):
                for name in fields:
                    if item.get(name) is value:
                        return f"`determinations[{i}].{key}[{j}].{name}`"
    return "a figure"


def _out_of_range(entries: list[dict[str, Any]], value: Any) -> ResultsError:
    """The error for a number out of range, at its field path."""
    where = _field_of(entries, value)
    text = str(value)
    shown = f"`{text}`" if len(text) <= 24 else f"`{text[:20]}...` ({len(text)} characters)"
    return ResultsError(f"{where} is {shown}: expected a number of sensible size (at most {MAX_DIGITS} digits before "
                        f"the point and {MAX_DIGITS} after); is this batch output?")


def _heading(hs: str | None) -> str | None:
    """The HS heading (``87.08``) of a code, or None."""
    if not hs or not isinstance(hs, str):
        return None
    return _heading_of(hs)


@lru_cache(maxsize=65_536)  # (a batch's causes repeat their codes)
def _heading_of(hs: str) -> str | None:
    digits = hs.replace(".", "")
    return f"{digits[:2]}.{digits[2:4]}" if len(digits) >= 4 else None


class _Reader:
    def __init__(self, source: str):
        self.p = Portfolio(source)
        #: (agreement, figure, comparison, threshold as written) -> the margins by product of
        #: that :class:`Threshold` in ``p.margins``: a threshold met again is found without
        #: making and hashing a Threshold (its Decimal) for each shipment
        self.slots: dict[tuple[str, str, str, str], dict[str, Decimal]] = {}
        #: (agreement, product) -> the margins dicts its last shipment put a margin in: a
        #: product's margins are its most recent shipment's, so a later one clears them first
        self.held: dict[tuple[str, str], list[dict[str, Decimal]]] = {}

    def done(self) -> Portfolio:
        """The portfolio read, without the thresholds no product's latest shipment met."""
        margins = self.p.margins
        for threshold in [t for t, m in margins.items() if not m]:
            del margins[threshold]
        return self.p

    def add(self, record: dict[str, Any]) -> None:
        p = self.p
        if "error" in record:
            error = record["error"]
            if not isinstance(error, dict):
                raise ResultsError("`error` is not an object: is this batch output?")
            _objects(error.get("problems"), "error.problems")
            p.records += 1
            p.errors += 1
            if len(p.error_samples) < MAX_ERRORS_KEPT:
                p.error_samples.append(record)
            return
        entries = _objects(record.get("determinations"), "determinations")
        for entry in entries:
            for key in ("thresholds", "causes", "warnings"):
                _objects(entry.get(key), f"determinations[].{key}")
        p.records += 1
        product = str(record.get("product_id"))
        p.products.add(product)
        by_name = {e.get("agreement"): e for e in entries}
        try:
            for entry in entries:
                self._entry(product, record.get("hs"), entry, by_name)
        except OutOfRange as exc:
            raise _out_of_range(entries, exc.value) from None
        self._warnings(product, record, entries)

    def _warnings(self, product: str, record: dict[str, Any], entries: list[dict[str, Any]]) -> None:
        found: dict[tuple[str, str, str], list[str]] = {}
        for entry in entries:
            for w in entry.get("warnings") or ():
                if not isinstance(w, dict):
                    continue
                key = (str(w.get("code", "")), str(w.get("path", "")), str(w.get("message", "")))
                found.setdefault(key, []).append(str(entry.get("agreement")))
        if not found:
            return
        p = self.p
        p.warned_records += 1
        p.warned_products.add(product)
        for code in dict.fromkeys(code for code, _, _ in found):
            p.warning_codes[code] += 1
            p.warning_code_products.setdefault(code, set()).add(product)
        sample = p.warned_samples.get(product)
        if sample is None and len(p.warned_samples) < MAX_WARNED_KEPT:
            line = record.get("line") if record.get("line") is not None else record.get("position")
            sample = p.warned_samples[product] = Warned(product, record.get("hs"), f"{record.get('source')}:{line}")
        if sample is not None:
            sample.shipments += 1
            for key, names in found.items():
                known = sample.warnings.setdefault(key, [])
                known.extend(n for n in names if n not in known)

    def _entry(self, product: str, hs: str | None, entry: dict[str, Any], by_name: dict[str, Any]) -> None:
        p = self.p
        name, verdict = entry.get("agreement"), entry.get("verdict")
        if not isinstance(name, str) or verdict not in VERDICT_ORDER:
            raise ResultsError("a determination has no agreement or verdict: is this batch output?")
        if name not in p.verdicts:
            p.names.append(name)
            p.verdicts[name] = Counter()
            p.product_verdicts[name] = {}
        p.verdicts[name][verdict] += 1
        p.product_verdicts[name][product] = verdict
        base = entry.get("base")
        if isinstance(base, str) and base:
            p.base_of[name] = base
            base_entry = by_name.get(base)
            if base_entry is not None and base_entry.get("verdict") == "qualifies" and verdict != "qualifies":
                self._loss(name, product, hs, entry)
        earlier = self.held.pop((name, product), None)
        if earlier:  # an older shipment's margins: the most recent shipment's figures count alone
            for margins in earlier:
                margins.pop(product, None)
        held = None
        for t in entry.get("thresholds") or ():
            figure = str(t.get("figure", ""))
            if not figure.startswith(("rvc_", "max_nom_")):
                continue
            written = t.get("threshold")
            value, limit, margin = _decimal(t.get("value")), _decimal(written), _decimal(t.get("margin"))
            if value is None or limit is None or margin is None:
                continue
            comparison = str(t.get("comparison", ">="))
            slot = (name, figure, comparison, written) if type(written) is str else None
            margins = self.slots.get(slot) if slot is not None else None
            if margins is None:
                margins = p.margins.setdefault(Threshold(name, figure, comparison, limit), {})
                if slot is not None:
                    self.slots[slot] = margins
            margins[product] = margin
            if held is None:
                held = self.held[(name, product)] = []
            held.append(margins)
        if verdict == "does_not_qualify":
            causes = entry.get("causes")
            if not causes:
                return
            seen_origins, seen_headings = set(), set()
            origins, origin_value, headings = p.origins, p.origin_value, p.headings
            for cause in causes:
                origin = str(cause.get("origin") or "unknown")
                heading = _heading(cause.get("hs"))
                value = _decimal(cause.get("value"))
                if origin not in seen_origins:
                    seen_origins.add(origin)
                    origins[origin] += 1
                if value is not None:
                    origin_value[origin] += value
                if heading and heading not in seen_headings:
                    seen_headings.add(heading)
                    headings[heading] += 1

    def _loss(self, scenario: str, product: str, hs: str | None, entry: dict[str, Any]) -> None:
        p = self.p
        p.loss_shipments[scenario] += 1
        losses = p.losses.setdefault(scenario, {})
        loss = losses.get(product)
        if loss is None:
            loss = losses[product] = Loss(product, hs)
        loss.shipments += 1
        loss.verdict = entry.get("verdict", "")
        loss.reason = entry.get("reason", "")
        loss.causes = list(entry.get("causes") or ())


def read_results(path: str | Path) -> Portfolio:
    """Aggregate a batch output file (JSON Lines); ResultsError if it is not one."""
    file = str(path)
    suffix = Path(file).suffix.lower()
    if suffix == ".parquet":
        return _read_parquet(file)
    if suffix not in (".jsonl", ".ndjson"):
        raise ResultsError(f"`{file}`: expected the JSON Lines or Parquet output of `origin-rules batch` "
                           "(.jsonl, .parquet); CSV output carries too little for the report")
    reader = _Reader(file)
    loads = orjson.loads
    try:
        handle = open(file, "rb")
    except OSError as err:
        raise ResultsError(f"cannot read `{file}`: {err.strerror or err}") from None
    with handle:
        for lineno, raw in enumerate(handle, 1):
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError:
                raise ResultsError(f"{file}:{lineno}: not UTF-8 text; is this batch output?") from None
            if not line.strip():
                continue
            try:
                record = loads(line)
            except ValueError as err:  # (orjson's errors are ValueErrors; it refuses JSON nested too deeply)
                if "depth limit" in str(err):
                    raise ResultsError(f"{file}:{lineno}: not batch output (JSON nested too deeply)") from None
                raise ResultsError(f"{file}:{lineno}: not JSON ({err}); is this batch output?") from None
            if not isinstance(record, dict) or ("determinations" not in record and "error" not in record):
                raise ResultsError(f"{file}:{lineno}: not a batch output record (no `determinations` or `error`)")
            try:
                reader.add(record)
            except ResultsError as err:
                raise ResultsError(f"{file}:{lineno}: {err}") from None
    return reader.done()


def _read_parquet(file: str) -> Portfolio:
    """The same from the Parquet output (:mod:`origin_rules.files.parquet`), a batch of rows
    at a time."""
    from ..files.parquet import ResultsFormatError, read_results as parquet_records

    reader = _Reader(file)
    row = 0
    try:
        for record in parquet_records(file):
            row += 1
            try:
                reader.add(record)
            except ResultsError as err:
                raise ResultsError(f"{file}, row {row}: {err}") from None
    except ResultsFormatError as err:
        raise ResultsError(str(err)) from None
    return reader.done()
