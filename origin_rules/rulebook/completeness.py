"""Completeness evidence: which GN11(o) rules of a rulebook's source are encoded.

In: paths (folders are searched for ``*.roo`` rule files and ``*.gn11.yaml`` completeness
manifests; a ``.roo`` file brings its sibling ``<stem>.gn11.yaml``). A manifest lists the
GN11(o) rule numbers of its chapters as the source numbers them and the rules it leaves out,
with the reason::

    chapters: {15: [1, 2, 3]}
    not_encoded: [{chapter: 15, rule: 3, why: "..."}]   # rule: 4, "6(C)", "chapter rule 4", 0

The cites of every rule and requirement of every agreement (scenarios are not law and are
not counted) are read for GN11(o) rule numbers (:func:`parse_cite`).
Out: a :class:`Coverage`: per chapter, the rule numbers in the source, encoded (cited),
listed as not encoded, missing (neither) and cited but absent from the source; its JSON
form, a text table and a Markdown table. Pure functions: nothing is printed. A manifest
that does not validate raises :class:`ManifestError` naming the file and the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from ..model import ast

MANIFEST_SUFFIX = ".gn11.yaml"


class ManifestError(ValueError):
    """A completeness manifest (or a rule file) that cannot be read or does not validate."""

    def __init__(self, file: str, message: str):
        self.file = file
        self.message = message
        super().__init__(f"{file}: {message}")


# ---------------------------------------------------------------------------- cites


@dataclass(frozen=True)
class CiteParse:
    """What one cite text says about GN11(o): numbered rules, unnumbered rules, unread parts."""

    rules: tuple[tuple[int, int], ...] = ()  # (chapter, rule number); 7(A) counts as 7
    unnumbered: tuple[tuple[int, str], ...] = ()  # (chapter, "chapter rule 1", "subheading rule ...")
    unreadable: tuple[str, ...] = ()  # GN11(o) parts naming no chapter or no rule


_GN11O = re.compile(r"GN\s*11\s*\(o\)", re.I)
_CHAPTER = re.compile(r"\bch\.\s*(\d+)\b")
_CONTINUES = re.compile(r"\s*(?:ch\.\s*\d|rules?\b|chapter rules?\b|heading rules?\b|subheading rules?\b|unnumbered\b)", re.I)
_UNNUMBERED = re.compile(r"(?:chapter|heading|subheading)\s+rules?\b|unnumbered\b|rules?\s+for\b", re.I)
_LETTERS = r"(?:\s*\([A-Z]\))*"
_ITEM = re.compile(rf"(\d+){_LETTERS}(?:\s*[-\u2013]\s*(?:(\d+){_LETTERS}|\([A-Z]\)))?")
_SEP = re.compile(r"\s*(?:,\s*and\s+|,\s*or\s+|,\s*|\s+and\s+|\s+or\s+)")
_NOT_LETTER_PAREN = re.compile(r"\((?![A-Z]\))[^()]*\)")


def _segments(text: str) -> list[str]:
    """Split at ``;`` outside parentheses."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif ch == ";" and depth == 0:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return out


def _strip_parentheticals(text: str) -> str:
    """Drop ``(8708.30)``, ``(tariff items ...)``; keep the letters of ``7(A)``."""
    while True:
        new = _NOT_LETTER_PAREN.sub(" ", text)
        if new == text:
            return text
        text = new


def parse_rule_list(text: str) -> list[int] | None:
    """``4``, ``7(A)``, ``4 and 5``, ``1, 2 and 3``, ``4-6``, ``7(A)-(B)`` -> rule numbers
    (in order, repeated as written); None when ``text`` does not start with a number. Text
    after the list (``5(A) for 87.03 ...``) is ignored."""
    m = _ITEM.match(text)
    if not m:
        return None
    out: list[int] = []
    while m:
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) else lo
        if hi < lo:
            return None
        out.extend(range(lo, hi + 1))
        pos = m.end()
        sep = _SEP.match(text, pos)
        if not sep:
            break
        m = _ITEM.match(text, sep.end())
        if m and m.end() < len(text) and text[m.end()] in ".0123456789":  # `and 87.04`: an HS code
            break
    return out


def _piece(chapter: int | None, text: str, into: dict[str, list]) -> None:
    body = _strip_parentheticals(text).strip(" ,.:")
    label = " ".join(text.split()).strip(" ,")
    if chapter is None:
        into["unreadable"].append(label or "GN11(o) without a chapter")
        return
    if not body:
        into["unreadable"].append(f"ch. {chapter} without a rule")
        return
    m = re.match(r"rules?\s+", body, re.I)
    if m and not _UNNUMBERED.match(body):
        numbers = parse_rule_list(body[m.end():])
        if numbers:
            into["rules"].extend((chapter, n) for n in numbers)
            return
    if _UNNUMBERED.search(body):
        into["unnumbered"].append((chapter, label))
        return
    into["unreadable"].append(f"ch. {chapter}, {label}")


def parse_cite(text: str) -> CiteParse:
    """The GN11(o) rules a cite names.

    ``HTSUS GN11(o), ch. 15, rule 2``; ``rules 4 and 5``; ``rules 1, 2 and 3``; ``rules
    4-6``; ``rule 7(A)`` (rule 7); ``rule 7(A)-(B)``; parenthesised codes are ignored
    (``rule 27 (8708.30)``); after ``;`` a part starting ``ch. N`` or ``rule`` continues the
    GN11(o) cite (``...; ch. 27 chapter rule 1``, ``...; rule 5(A) for 87.03``), any other part
    (``GN11(k) ...``, ``SOR/2020-155 ...``) is another source. Unnumbered forms (``chapter
    rule 1``, ``subheading rule for 73.05 (unnumbered)``, ``heading rule 5704``) are kept
    apart; a GN11(o) part naming no chapter or no readable rule is ``unreadable``.
    """
    found: dict[str, list] = {"rules": [], "unnumbered": [], "unreadable": []}
    active = False
    chapter: int | None = None
    for segment in _segments(text):
        m = _GN11O.search(segment)
        if m:
            active, chapter, body = True, None, segment[m.end():]
        elif active and _CONTINUES.match(segment):
            body = segment
        else:
            active = False
            continue
        marks = list(_CHAPTER.finditer(body))
        if not marks:
            _piece(chapter, body, found)
            continue
        lead = body[: marks[0].start()].strip(" ,.")
        if lead:
            _piece(chapter, lead, found)
        for i, mark in enumerate(marks):
            chapter = int(mark.group(1))
            end = marks[i + 1].start() if i + 1 < len(marks) else len(body)
            rest = body[mark.end():end]
            rest = re.sub(r"\s+and\s*$", "", rest.rstrip(" ,"))  # `ch. 84, rule 5 and ch. 85, ...`
            _piece(chapter, rest, found)
    return CiteParse(tuple(found["rules"]), tuple(found["unnumbered"]), tuple(found["unreadable"]))


# ---------------------------------------------------------------------------- manifests


class NotEncoded(BaseModel):
    """One rule the manifest says is not encoded, and why."""

    model_config = ConfigDict(extra="forbid")
    chapter: int
    rule: int | str
    why: str

    @field_validator("why")
    @classmethod
    def _why(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("give the reason the rule is not encoded")
        return v

    @field_validator("rule")
    @classmethod
    def _rule(cls, v: int | str) -> int | str:
        if isinstance(v, int) and v < 0:
            raise ValueError("a rule number is 1 or more (0: the whole chapter)")
        if isinstance(v, str) and not v.strip():
            raise ValueError("empty rule")
        return v

    @property
    def number(self) -> int | None:
        """The numbered rule this entry is (part of): 4 for ``4``, ``"4"`` and ``"4(B)"``;
        0 for the whole chapter; None for ``chapter rule 4`` and other unnumbered rules."""
        if isinstance(self.rule, int):
            return self.rule
        m = re.fullmatch(r"\s*(\d+)\s*((?:\([A-Z]\))*)\s*", self.rule)
        return int(m.group(1)) if m else None


class Manifest(BaseModel):
    """A ``*.gn11.yaml`` file: the GN11(o) rule numbers of some chapters, and the gaps."""

    model_config = ConfigDict(extra="forbid")
    source: str | None = None
    chapters: dict[int, list[int]]
    not_encoded: list[NotEncoded] = []

    @field_validator("chapters")
    @classmethod
    def _chapters(cls, v: dict[int, list[int]]) -> dict[int, list[int]]:
        for ch, numbers in v.items():
            if not 1 <= ch <= 99:
                raise ValueError(f"chapter {ch} is not an HS chapter (1-99)")
            if any(n < 1 for n in numbers):
                raise ValueError(f"chapter {ch}: rule numbers start at 1")
            if len(set(numbers)) != len(numbers):
                raise ValueError(f"chapter {ch}: a rule number is listed twice")
        return v


def _pydantic_message(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "(top level)"
        parts.append(f"field `{loc}`: {e['msg']}")
    return "; ".join(parts)


def read_manifest(path: str | Path) -> Manifest:
    """Read and validate one manifest; any problem is a :class:`ManifestError`."""
    import yaml

    name = str(path)
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ManifestError(name, f"cannot read: {exc.strerror or exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ManifestError(name, f"not YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise ManifestError(name, "nested too deeply: a manifest is a mapping of chapters to rule numbers") from None
    except ValueError as exc:  # e.g. an integer too long to convert
        raise ManifestError(name, f"a value cannot be read: {' '.join(str(exc).split())[:200]}") from None
    if not isinstance(data, dict):
        raise ManifestError(name, "expected a mapping with `chapters` and `not_encoded`")
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        raise ManifestError(name, _pydantic_message(exc)) from None
    for i, entry in enumerate(manifest.not_encoded):
        where = f"field `not_encoded.{i}`"
        if entry.chapter not in manifest.chapters:
            raise ManifestError(name, f"{where}: chapter {entry.chapter} is not under `chapters`")
        n = entry.number
        if n and n not in manifest.chapters[entry.chapter]:
            raise ManifestError(name, f"{where}: chapter {entry.chapter} has no rule {n} under `chapters`")
    return manifest


def discover(paths: Iterable[str | Path]) -> tuple[list[str], list[str]]:
    """Rule files and manifests under ``paths``; a path that does not exist is an error."""
    rules: list[str] = []
    manifests: list[str] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            manifests += [str(f) for f in sorted(p.rglob("*" + MANIFEST_SUFFIX)) if f.is_file()]
            rules += [str(f) for f in sorted(p.rglob("*.roo")) if f.is_file()]
        elif p.is_file() and p.name.endswith(MANIFEST_SUFFIX):
            manifests.append(str(p))
        elif p.is_file():
            rules.append(str(p))
            sibling = p.with_name(p.stem + MANIFEST_SUFFIX)
            if sibling.is_file():
                manifests.append(str(sibling))
        else:
            raise ManifestError(str(raw), "does not exist")
    dedup = lambda xs: list(dict.fromkeys(xs))  # noqa: E731
    return dedup(rules), dedup(manifests)


# ---------------------------------------------------------------------------- coverage


@dataclass(frozen=True)
class CitedRule:
    """A GN11(o) rule named by a cite, and where."""

    chapter: int
    rule: int
    cite: str
    where: str  # file:line


@dataclass(frozen=True)
class Gap:
    """A manifest entry: a rule not encoded (or the part of it that is not)."""

    chapter: int
    rule: int | str
    why: str
    manifest: str
    partly_encoded: bool = False  # the rule's number is cited: another part of it is encoded

    @property
    def label(self) -> str:
        if self.rule == 0:
            return "all rules"
        return f"rule {self.rule}" if isinstance(self.rule, int) or self.rule[:1].isdigit() else str(self.rule)


@dataclass
class ChapterCoverage:
    chapter: int
    manifest: str
    source: list[int]
    encoded: list[int]
    not_encoded: list[int]
    missing: list[int]
    unknown: list[CitedRule] = field(default_factory=list)  # cited, but not a rule of the source
    whole_chapter_not_encoded: bool = False  # rule 0: numbers unknown or none encoded
    unnumbered_cites: int = 0

    @property
    def percent(self) -> float | None:
        """Encoded share of the numbered rules of the source (None: no numbers known)."""
        return 100.0 * len(self.encoded) / len(self.source) if self.source else None


@dataclass
class Coverage:
    chapters: list[ChapterCoverage]
    gaps: list[Gap]
    unknown_chapters: list[CitedRule]  # cites of chapters no manifest lists
    unreadable: list[CitedRule]  # GN11(o) cites naming no readable rule (rule = 0)
    manifests: list[str]

    # ---- totals -------------------------------------------------------------------------------

    @property
    def in_source(self) -> int:
        return sum(len(c.source) for c in self.chapters)

    @property
    def encoded(self) -> int:
        return sum(len(c.encoded) for c in self.chapters)

    @property
    def not_encoded(self) -> int:
        return sum(len(c.not_encoded) for c in self.chapters)

    @property
    def missing(self) -> int:
        return sum(len(c.missing) for c in self.chapters)

    @property
    def errors(self) -> list[CitedRule]:
        """Cites naming a rule the source does not have (by the manifests)."""
        return [u for c in self.chapters for u in c.unknown] + self.unknown_chapters

    def percent_encoded(self) -> float:
        return 100.0 * self.encoded / self.in_source if self.in_source else 100.0

    def percent_accounted(self) -> float:
        """Encoded or listed as not encoded, of the numbered rules of the source."""
        return 100.0 * (self.encoded + self.not_encoded) / self.in_source if self.in_source else 100.0

    def failures(self, threshold: float = 100.0) -> list[str]:
        """Why the coverage gate fails (empty: it passes). Always: a cite naming a rule the
        source does not have, a GN11(o) cite with no readable rule. Then: encoded + listed
        below ``threshold`` percent of the source's rules (at 100, any missing rule fails)."""
        out = []
        if self.errors:
            out.append(f"{len(self.errors)} cite(s) name a GN11(o) rule the manifests do not list")
        if self.unreadable:
            out.append(f"{len(self.unreadable)} GN11(o) cite(s) name no readable rule number")
        accounted = self.percent_accounted()
        if accounted + 1e-9 < threshold:
            out.append(f"{accounted:.1f}% of the source's rules are encoded or listed as not encoded, "
                       f"below the threshold of {_num(threshold)}% ({self.missing} missing)")
        return out

    # ---- forms ----------------------------------------------------------------------------------

    def to_json(self, threshold: float = 100.0) -> dict:
        def cited(c: CitedRule) -> dict:
            return {"chapter": c.chapter, "rule": c.rule, "cite": c.cite, "at": c.where}

        return {
            "manifests": self.manifests,
            "chapters": [{
                "chapter": c.chapter,
                "manifest": c.manifest,
                "in_source": c.source,
                "encoded": c.encoded,
                "not_encoded": c.not_encoded,
                "missing": c.missing,
                "whole_chapter_not_encoded": c.whole_chapter_not_encoded,
                "percent_encoded": None if c.percent is None else round(c.percent, 1),
                "unnumbered_cites": c.unnumbered_cites,
                "cited_not_in_source": [cited(u) for u in c.unknown],
            } for c in self.chapters],
            "not_encoded": [{"chapter": g.chapter, "rule": g.rule, "why": g.why, "manifest": g.manifest,
                             "partly_encoded": g.partly_encoded} for g in self.gaps],
            "totals": {
                "chapters": len(self.chapters),
                "in_source": self.in_source,
                "encoded": self.encoded,
                "not_encoded": self.not_encoded,
                "missing": self.missing,
                "percent_encoded": round(self.percent_encoded(), 1),
                "percent_accounted": round(self.percent_accounted(), 1),
            },
            "errors": {
                "cited_not_in_source": [cited(u) for u in self.errors],
                "unreadable_cites": [{"cite": u.cite, "at": u.where} for u in self.unreadable],
            },
            "threshold": threshold,
            "failures": self.failures(threshold),
            "ok": not self.failures(threshold),
        }


def _num(x: float) -> str:
    return f"{x:g}"


def compute(modules: Iterable[ast.Module], manifests: dict[str, Manifest]) -> Coverage:
    """Coverage of the GN11(o) rules of ``manifests`` ({file name: manifest}) by the cites of
    the agreements of ``modules``."""
    owner: dict[int, str] = {}
    for name, manifest in manifests.items():
        for ch in manifest.chapters:
            if ch in owner:
                raise ManifestError(name, f"field `chapters.{ch}`: chapter {ch} is also listed in {owner[ch]}")
            owner[ch] = name

    cited: dict[int, dict[int, list[CitedRule]]] = {}
    unnumbered: dict[int, int] = {}
    unreadable: list[CitedRule] = []
    for module in modules:
        for item in module.items:
            if not isinstance(item, ast.Agreement):
                continue  # scenarios are hypothetical: they encode no rule of the source
            for member in item.members:
                if not isinstance(member, (ast.Rule, ast.Require)):
                    continue
                for line in member.lines:
                    if not isinstance(line, ast.Cite):
                        continue
                    where = line.span.where if line.span.line else member.span.where
                    parsed = parse_cite(line.text)
                    for ch, n in parsed.rules:
                        cited.setdefault(ch, {}).setdefault(n, []).append(CitedRule(ch, n, line.text, where))
                    for ch, _ in parsed.unnumbered:
                        unnumbered[ch] = unnumbered.get(ch, 0) + 1
                    for _ in parsed.unreadable:
                        unreadable.append(CitedRule(0, 0, line.text, where))

    chapters: list[ChapterCoverage] = []
    gaps: list[Gap] = []
    for ch in sorted(owner):
        name = owner[ch]
        manifest = manifests[name]
        source = sorted(manifest.chapters[ch])
        here = cited.get(ch, {})
        entries = [e for e in manifest.not_encoded if e.chapter == ch]
        whole = any(e.number == 0 for e in entries)
        listed = {e.number for e in entries if e.number}
        encoded = [n for n in source if n in here]
        not_encoded = [n for n in source if n not in here and (whole or n in listed)]
        missing = [n for n in source if n not in here and n not in not_encoded]
        unknown = [refs[0] for n, refs in sorted(here.items()) if n not in source]
        chapters.append(ChapterCoverage(ch, name, source, encoded, not_encoded, missing, unknown, whole,
                                        unnumbered.get(ch, 0)))
        for e in entries:
            gaps.append(Gap(ch, e.rule, e.why, name, partly_encoded=bool(e.number) and e.number in here))
    unknown_chapters = [refs[0] for ch in sorted(cited) if ch not in owner for _, refs in sorted(cited[ch].items())]
    return Coverage(chapters, gaps, unknown_chapters, unreadable, sorted(manifests))


def coverage_of_paths(paths: Iterable[str | Path], *, cache: bool = False) -> Coverage:
    """Discover, read and compute. Raises :class:`ManifestError` for an unreadable manifest,
    a path that does not exist, no manifest at all, or rule files with syntax errors.
    ``cache``: read the rule files through the rulebook cache (:mod:`.cache`; its checks'
    findings, ``ROO1xx``, are not this function's business: only the text's, ``ROO0xx``, as
    when parsing without checking)."""
    from .sources import parse_paths

    paths = list(paths)
    rule_files, manifest_files = discover(paths)
    if not manifest_files:
        raise ManifestError(", ".join(str(p) for p in paths), f"no completeness manifest (*{MANIFEST_SUFFIX}) found")
    manifests = {name: read_manifest(name) for name in manifest_files}
    if cache:
        from .cache import parse_cached

        parsed = parse_cached(rule_files)
    else:
        parsed = parse_paths(rule_files, check=False)
    bad = [d for d in parsed.diagnostics if d.is_error and d.code.startswith("ROO0")]
    if bad:
        first = bad[0]
        raise ManifestError(first.span.where, f"{first.message} ({len(bad)} error(s) in the rule files; "
                            "run `origin-rules check` on them)")
    return compute(parsed.modules, manifests)


# ---------------------------------------------------------------------------- tables


def compact(numbers: list[int]) -> str:
    """``[1, 2, 3, 5, 7, 8]`` -> ``1-3, 5, 7-8``."""
    out: list[str] = []
    i = 0
    while i < len(numbers):
        j = i
        while j + 1 < len(numbers) and numbers[j + 1] == numbers[j] + 1:
            j += 1
        out.append(str(numbers[i]) if i == j else f"{numbers[i]}-{numbers[j]}")
        i = j + 1
    return ", ".join(out)


def _cells(c: ChapterCoverage) -> list[str]:
    def col(ns: list[int]) -> str:
        return f"{len(ns)}: {compact(ns)}" if ns else "0"

    if not c.source and c.whole_chapter_not_encoded:
        return [str(c.chapter), "unknown", "0", "all", "0", "-"]
    return [str(c.chapter), col(c.source), col(c.encoded), col(c.not_encoded), col(c.missing),
            "-" if c.percent is None else f"{c.percent:.0f}%"]


HEADERS = ["chapter", "rules in source", "encoded", "not encoded", "missing", "% encoded"]


def _totals_cells(cov: Coverage) -> list[str]:
    return ["total", str(cov.in_source), str(cov.encoded), str(cov.not_encoded), str(cov.missing),
            f"{cov.percent_encoded():.1f}%"]


def _gap_line(g: Gap) -> str:
    part = " (the rest of the rule is encoded)" if g.partly_encoded else ""
    return f"ch. {g.chapter}, {g.label}{part}: {g.why}"


def _md_escape(text: str) -> str:
    return re.sub(r"([\\*_<>|\[\]`])", r"\\\1", text)


def markdown(cov: Coverage) -> str:
    """The per-chapter table, the totals and the not-encoded list, as Markdown."""
    rows = [HEADERS, *[_cells(c) for c in cov.chapters]]
    tot = _totals_cells(cov)
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    lines.append("| " + " | ".join(f"**{x}**" for x in tot) + " |")
    lines += ["", f"{cov.encoded} of the {cov.in_source} numbered GN11(o) rules of the source are encoded "
              f"({cov.percent_encoded():.1f}%), {cov.not_encoded} are listed as not encoded, {cov.missing} are missing; "
              f"chapters whose rule numbers are unknown: "
              f"{', '.join(str(c.chapter) for c in cov.chapters if not c.source) or 'none'}.", ""]
    if cov.gaps:
        lines += ["Not encoded, and why:", ""]
        lines += [f"- {_md_escape(_gap_line(g))}" for g in cov.gaps]
    if cov.errors:
        lines += ["", "Cited but not in the source:", ""]
        lines += [f"- ch. {u.chapter}, rule {u.rule}: `{u.where}`" for u in cov.errors]
    return "\n".join(lines) + "\n"


def text(cov: Coverage) -> str:
    """The same for a terminal: aligned columns, then the not-encoded list and the errors."""
    rows = [HEADERS, *[_cells(c) for c in cov.chapters], _totals_cells(cov)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    # the number lists can be long: cap the columns, the JSON form has them all
    cap = 28

    def fit(cell: str, w: int) -> str:
        return cell if len(cell) <= w else cell[: w - 3] + "..."

    widths = [min(w, cap) for w in widths]

    def fmt(row: list[str]) -> str:
        return "  ".join(fit(c, w).ljust(w) for c, w in zip(row, widths)).rstrip()

    lines = [fmt(rows[0]), fmt(["-" * w for w in widths])]
    lines += [fmt(r) for r in rows[1:-1]]
    lines += [fmt(["-" * w for w in widths]), fmt(rows[-1])]
    lines += ["", f"encoded {cov.encoded} of {cov.in_source} numbered rules ({cov.percent_encoded():.1f}%), "
              f"not encoded {cov.not_encoded}, missing {cov.missing}: "
              f"{cov.percent_accounted():.1f}% accounted for"]
    if cov.gaps:
        lines += ["", "not encoded:"]
        lines += [f"  {_gap_line(g)}" for g in cov.gaps]
    missing = [(c.chapter, c.missing) for c in cov.chapters if c.missing]
    if missing:
        lines += ["", "missing (in the source, neither encoded nor listed in the manifest):"]
        lines += [f"  ch. {ch}: rules {compact(ns)}" for ch, ns in missing]
    if cov.errors:
        lines += ["", "error: cited, but the manifest lists no such rule:"]
        lines += [f"  {u.where}: ch. {u.chapter}, rule {u.rule} ({u.cite})" for u in cov.errors]
    if cov.unreadable:
        lines += ["", "error: GN11(o) cites with no readable rule number:"]
        lines += [f"  {u.where}: {u.cite}" for u in cov.unreadable]
    return "\n".join(lines) + "\n"
