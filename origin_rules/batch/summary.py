"""The summary of a batch: how many records, which verdicts under each agreement.

In: counts gathered while the batch runs. Out: a :class:`Summary` that serializes to JSON
(``--summary FILE``) and to rows for a table on the terminal::

    {"records": 20000, "errors": 50, "with_warnings": 12, "evaluated": 812, "reused": 19138,
     "as_of": "2026-07-01", "rules_digest": "sha256:...", "inputs": [...], "output": "...",
     "verdicts": {"USMCA": {"qualifies": 18000, "does_not_qualify": 1900,
                            "insufficient_data": 50, "no_rule": 0}, ...},
     "losses": {"USMCA review 2026: China content cap": 3100},
     "seconds": 4.2, "records_per_second": 4761.9, "workers": 2}

``with_warnings`` counts the records whose BOM carries a warning under some agreement or
scenario (``warnings`` in the output; ``--strict`` turns them into exit 2).
``verdicts`` counts records (shipments), not distinct products. ``losses`` counts the
records that qualify under an agreement but not under a scenario of it. ``evaluated`` is
the number of BOMs actually evaluated; ``reused`` the records that took the result of an
identical earlier record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..model.determination import VERDICTS

__all__ = ["Summary", "count"]


def count(n: int, one: str, many: str | None = None) -> str:
    """``1 record``, ``2 records``, ``1,200 BOMs`` (``many`` defaults to ``one + "s"``)."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


@dataclass
class Summary:
    rules_digest: str
    as_of: date
    inputs: list[str]
    output: str
    names: list[str]
    records: int = 0
    errors: int = 0
    warned: int = 0
    evaluated: int = 0
    reused: int = 0
    verdicts: dict[str, dict[str, int]] = field(default_factory=dict)
    losses: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    workers: int = 1

    def count(self, name: str, verdict: str, n: int = 1) -> None:
        row = self.verdicts.get(name)
        if row is None:
            row = self.verdicts[name] = {v: 0 for v in VERDICTS}
        row[verdict] = row.get(verdict, 0) + n

    def ordered_names(self) -> list[str]:
        known = [n for n in self.names if n in self.verdicts]
        return known + sorted(n for n in self.verdicts if n not in known)

    def to_dict(self) -> dict[str, Any]:
        rate = self.records / self.seconds if self.seconds > 0 else None
        return {
            "records": self.records,
            "errors": self.errors,
            "with_warnings": self.warned,
            "evaluated": self.evaluated,
            "reused": self.reused,
            "as_of": self.as_of.isoformat(),
            "rules_digest": self.rules_digest,
            "inputs": self.inputs,
            "output": self.output,
            "verdicts": {n: self.verdicts[n] for n in self.ordered_names()},
            "losses": {n: self.losses[n] for n in self.names if n in self.losses},
            "seconds": round(self.seconds, 3),
            "records_per_second": round(rate, 1) if rate is not None else None,
            "workers": self.workers,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def rows(self) -> list[list[str]]:
        """Agreement/scenario, then a count per verdict and the losses, for a table."""
        out = []
        for name in self.ordered_names():
            row = self.verdicts[name]
            out.append([name] + [f"{row.get(v, 0):,}" for v in VERDICTS] + [f"{self.losses.get(name, 0):,}" if name in self.losses else ""])
        return out

    def headline(self) -> str:
        rate = f", {self.records / self.seconds:,.0f} records/s" if self.seconds > 0 else ""
        warned = f", {self.warned:,} with warnings" if self.warned else ""
        return (f"{count(self.records, 'record')}, {self.errors:,} unreadable{warned}; "
                f"{count(self.evaluated, 'distinct BOM')} evaluated"
                f" ({self.seconds:.1f} s{rate}, {count(self.workers, 'worker')})")
