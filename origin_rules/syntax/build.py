"""Parse tree -> AST.

In: the callbacks of the Lark LALR parser (children are tokens and already-built nodes).
Out: ``origin_rules.model.ast`` nodes with spans, plus diagnostics for forms the grammar accepts
only to explain them (``8708`` for ``87.08``, ``60`` for ``60%``, ``=`` for ``>=``...).
"""

from __future__ import annotations

import dataclasses
import difflib
from datetime import date
from decimal import Decimal

from lark import Token, Transformer

from ..model import ast
from ..model.diagnostics import Diagnostic, error
from ..model.hs import HsCode, Level, dotted

RVC_METHODS = ("transaction_value", "net_cost", "build_down", "build_up", "focused_value")
PRICE_BASES = ("fob", "ex_works", "transaction_value")
FIGURES = ("transaction_value", "net_cost", "total_cost", "fob", "ex_works", "weight", "component_weight")
#: Material flags a de minimis sub-limit (``of which FLAG <= 7%``) can name.
SUB_LIMIT_FLAGS = ("elastomeric",)
#: Declared parts of a material a weight can weigh (``weight(polymer of FILTER)``).
MATERIAL_PARTS = ("polymer",)
FACTS = ("end_use", "produced_in", "imported_from")

#: What a malformed date becomes in the AST once ROO013 has reported it (check skips it).
INVALID_DATE = date(1900, 1, 1)

#: The numbers of the rule language (percentages, the HS edition) are below 10^41 and have
#: at most 40 decimal places (ROO022), as the BOM readers' amounts: the evaluator's exact
#: arithmetic works with a bounded number of digits.
MAX_DIGITS = 40


#: The levels as written (``tariff item`` is two tokens, joined by a space).
_LEVELS = {"chapter": Level.CHAPTER, "heading": Level.HEADING, "subheading": Level.SUBHEADING,
           "tariff item": Level.TARIFF_ITEM}


def _unquote(text: str) -> str:
    return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")


def _span_maker():
    """``ast.Span(file, line, column, end_line, end_column)``, made the way its frozen dataclass
    ``__init__`` makes it (an empty instance, then each slot set past the frozen
    ``__setattr__``) but through the slots' own setters: a third of the time, for the one
    object the builder makes most (a span per node and per token kept)."""
    new = object.__new__
    fields = [f.name for f in dataclasses.fields(ast.Span)]
    if fields != ["file", "line", "column", "end_line", "end_column"]:
        return ast.Span  # another Span: its own constructor
    file, line, column, end_line, end_column = (getattr(ast.Span, name).__set__ for name in fields)

    def make(f: str, l: int, c: int, el: int, ec: int) -> ast.Span:
        span = new(ast.Span)
        file(span, f)
        line(span, l)
        column(span, c)
        end_line(span, el)
        end_column(span, ec)
        return span

    return make


_new_span = _span_maker()


class Builder(Transformer):
    """Builds AST nodes; problems go to ``self.diagnostics`` and building goes on."""

    def __init__(self, file: str = "<string>"):
        super().__init__(visit_tokens=False)
        self.reset(file)

    def reset(self, file: str) -> None:
        """Start a new file (the parser reuses one builder, under a lock)."""
        self.file = file
        self.diagnostics: list[Diagnostic] = []

    # ---- helpers -------------------------------------------------------------------------

    def span(self, where) -> ast.Span:
        """The span of a token, or a span already computed by :meth:`extent`."""
        if type(where) is ast.Span:
            return where
        return _new_span(self.file, where.line, where.column, where.end_line, where.end_column)

    @staticmethod
    def _bounds(item) -> tuple | None:
        """Where a child begins and where it ends, or None if it has no position: a pair of
        things with ``line``, ``column``, ``end_line`` and ``end_column`` (tokens, spans), the
        first for its start and the second for its end."""
        if type(item) is Token:
            return item, item
        if type(item) is not tuple:  # a node (a tuple has no span: asking an enum in it would raise inside)
            span = getattr(item, "span", None)
            if type(span) is ast.Span:
                return (span, span) if span.line else None
        if isinstance(item, tuple):  # a clause, a level: its earliest start and its latest end
            first = last = None
            for part in item:
                found = Builder._bounds(part)
                if found is None:
                    continue
                start, end = found
                if first is None or (start.line, start.column) < (first.line, first.column):
                    first = start
                if last is None or (end.end_line, end.end_column) > (last.end_line, last.end_column):
                    last = end
            if first is not None:
                return first, last
        return None

    def extent(self, children) -> ast.Span:
        """The span from the first to the last positioned child (spans are computed here,
        not by Lark's position tracking, which would double the parse time). The span of a
        lone positioned child is its own span (the same object: spans are frozen)."""
        bounds = Builder._bounds
        first = last = None
        for child in children:
            if type(child) is Token:  # the usual first child: a keyword
                first = child
                break
            found = bounds(child)
            if found is not None:
                first = found[0]
                break
        if first is None:
            return ast.Span(self.file, 0, 0, 0, 0)
        for child in reversed(children):
            if type(child) is Token:  # the usual last child: a closing brace or a code
                last = child
                break
            found = bounds(child)
            if found is not None:
                last = found[1]
                break
        if first is last and type(first) is ast.Span and first.file == self.file:
            return first
        return _new_span(self.file, first.line, first.column, last.end_line, last.end_column)

    def error(self, code: str, message: str, where, help: str | None = None) -> None:
        span = where if isinstance(where, ast.Span) else self.span(where)
        self.diagnostics.append(error(code, message, span, help))

    @staticmethod
    def _nodes(children) -> list:
        return [c for c in children if type(c) is not Token]

    @staticmethod
    def _tok(children, *types: str) -> Token | None:
        for c in children:
            if type(c) is Token and c.type in types:
                return c
        return None

    def _code(self, tok: Token) -> ast.HsCodeLit:
        text = str(tok)
        span = self.span(tok)
        try:
            return ast.HsCodeLit(HsCode.parse(text, strict_dots=True), span)
        except ValueError:
            pass
        plain = text.replace(".", "")
        if plain.isdigit() and len(plain) in (2, 4, 6, 8, 10):
            code = HsCode(plain)
            self.error(
                "ROO010",
                f"`{text}` is not written the way HS codes are: the {code.level.word} is `{dotted(plain)}`",
                span,
                f"write `{dotted(plain)}` (headings `87.08`, subheadings `8708.30`)",
            )
            return ast.HsCodeLit(code, span)
        self.error(
            "ROO010",
            f"`{text}` is not an HS code",
            span,
            "an HS code is a chapter `87`, a heading `87.08`, a subheading `8708.30` "
            "or a tariff item `8708.30.50`",
        )
        return ast.HsCodeLit(HsCode(plain[:2].ljust(2, "0")), span)

    def _date(self, tok: Token) -> date:
        try:
            return date.fromisoformat(str(tok))
        except ValueError:
            self.error("ROO013", f"`{tok}` is not a valid date", tok, "write dates as YYYY-MM-DD, e.g. `2026-07-01`")
            return INVALID_DATE

    def _names_suggestion(self, word: str, options) -> str:
        close = difflib.get_close_matches(word, options, n=1)
        return f"did you mean `{close[0]}`?" if close else "expected one of " + ", ".join(f"`{o}`" for o in options)

    # ---- file and declarations ----------------------------------------------------------------

    def start(self, children):
        return tuple(children)

    def agreement(self, children):
        meta = self.extent(children)
        name = self._tok(children, "STRING")
        return ast.Agreement(_unquote(name), tuple(self._nodes(children)), self.span(meta))

    def scenario(self, children):
        meta = self.extent(children)
        strings = [c for c in children if isinstance(c, Token) and c.type == "STRING"]
        return ast.Scenario(
            _unquote(strings[0]), _unquote(strings[1]), tuple(self._nodes(children)),
            self.span(strings[1]), self.span(meta),
        )

    def parties(self, children):
        meta = self.extent(children)
        return ast.PartiesDecl(self._nodes(children)[0], self.span(meta))

    def effective(self, children):
        meta = self.extent(children)
        return ast.Effective(self._date(self._tok(children, "DATE")), self.span(meta))

    def hs_version(self, children):
        meta = self.extent(children)
        tok = self._tok(children, "CODE")
        if not str(tok).isdigit():
            self.error("ROO019", f"`{tok}` is not an HS edition year", tok, "write e.g. `hs_version = 2022`")
            return ast.HsVersion(0, self.span(meta))
        year = self._number(tok, str(tok))
        return ast.HsVersion(int(year) if year is not None else 0, self.span(meta))

    def _number(self, tok: Token, text: str) -> Decimal | None:
        """The number ``text`` (digits, maybe a point), or None once ROO022 has said that it
        is of 10^41 or more, or has more than 40 decimal places."""
        value = Decimal(text)
        places = -value.as_tuple().exponent
        if places <= MAX_DIGITS and (value == 0 or value.adjusted() <= MAX_DIGITS):
            return value
        shown = str(tok) if len(tok) <= 24 else f"{tok[:12]}...{tok[-6:]}"
        if places > MAX_DIGITS:
            self.error("ROO022", f"`{shown}` has {places} decimal places: numbers have at most {MAX_DIGITS}", tok,
                       f"write at most {MAX_DIGITS} digits after the point, e.g. `62.5%`")
        else:
            self.error("ROO022", f"`{shown}` has {value.adjusted() + 1} digits before the point: numbers are below "
                       f"10^{MAX_DIGITS + 1}", tok, f"write at most {MAX_DIGITS + 1} digits before the point")
        return None

    def cite(self, children):
        meta = self.extent(children)
        return ast.Cite(_unquote(self._tok(children, "STRING")), self.span(meta))

    def set_decl(self, children):
        meta = self.extent(children)
        name = self._tok(children, "NAME")
        return ast.SetDecl(str(name), self._nodes(children)[0], self.span(meta))

    # ---- rules -------------------------------------------------------------------------------------

    def title(self, children):
        return ("title", _unquote(children[0]), children[0])

    def from_date(self, children):
        return ("from", self._date(children[1]), children[0])

    def until_date(self, children):
        return ("until", self._date(children[1]), children[0])

    def for_set(self, children):
        return ("for", children[1], children[0])

    def when(self, children):
        return ("when", children[1], children[0])

    def except_set(self, children):
        return ("except", children[1], children[0])

    def exclude(self, children):
        return ("exclude", children[1], children[0])

    def _clauses(self, children, allowed: tuple[str, ...]) -> tuple[dict, list]:
        clauses: dict = {}
        lines = []
        for c in children:
            if isinstance(c, tuple) and len(c) == 3 and isinstance(c[0], str):
                key, value, tok = c
                if key in clauses:
                    self.error("ROO015", f"`{key}` is given twice", tok, f"keep one `{key}` clause")
                clauses[key] = value
            elif not isinstance(c, Token):
                lines.append(c)
        return clauses, lines

    def rule(self, children):
        meta = self.extent(children)
        selector = children[1]
        clauses, lines = self._clauses(children[2:], ("title", "from", "until", "when"))
        return ast.Rule(
            selector, clauses.get("title"), clauses.get("from"), clauses.get("until"),
            clauses.get("when"), tuple(lines), self.span(meta),
        )

    def require(self, children):
        meta = self.extent(children)
        clauses, lines = self._clauses(children[1:], ("title", "for", "from", "until", "when"))
        return ast.Require(
            clauses.get("for"), clauses.get("title"), clauses.get("from"), clauses.get("until"),
            clauses.get("when"), tuple(lines), self.span(meta),
        )

    def fallback(self, children):
        meta = self.extent(children)
        clauses, lines = self._clauses(children[1:], ("title", "for", "except", "from", "until", "when"))
        return ast.Fallback(
            clauses.get("for"), clauses.get("except"), clauses.get("title"), clauses.get("from"),
            clauses.get("until"), clauses.get("when"), tuple(lines), self.span(meta),
        )

    def deemed(self, children):
        meta = self.extent(children)
        clauses, lines = self._clauses(children[2:], ("title", "for", "except", "from", "until", "when"))
        return ast.Deemed(
            clauses.get("for"), clauses.get("except"), clauses.get("title"), clauses.get("from"),
            clauses.get("until"), clauses.get("when"), tuple(lines), self.span(meta),
        )

    def de_minimis(self, children):
        meta = self.extent(children)
        measure = self._tok(children, "VALUE", "WEIGHT")
        op, (share, base, of_which) = self._nodes(children)[0:2]
        clauses, _ = self._clauses(self._nodes(children)[2:], ())
        if op != "<=":
            self.error("ROO012", f"de minimis is a ceiling: `{op}` should be `<=`", meta, "write `de_minimis value <= 10% of transaction_value`")
        return ast.DeMinimis(
            str(measure), share, base, clauses.get("for"), clauses.get("except"),
            clauses.get("exclude"), "<=", self.span(meta), of_which,
        )

    def dm_share(self, children):
        """A de minimis share: ``(share, base, sub-limit)``."""
        share, base = self.share([c for c in children if not isinstance(c, ast.SubLimit)])
        sub = next((c for c in children if isinstance(c, ast.SubLimit)), None)
        return (share, base, sub)

    def of_which(self, children):
        """``of which elastomeric <= 7% [of BASE]``: a ceiling on the flagged materials."""
        meta = self.extent(children)
        name = self._tok(children, "NAME")
        op, (share, base) = self._nodes(children)[0:2]
        if str(name) not in SUB_LIMIT_FLAGS:
            self.error("ROO020", f"unknown de minimis sub-limit `{name}`", name,
                       self._names_suggestion(str(name), SUB_LIMIT_FLAGS))
        if op != "<=":
            self.error("ROO012", f"a sub-limit is a ceiling: `{op}` should be `<=`", meta,
                       "write `of which elastomeric <= 7%`")
        return ast.SubLimit(str(name), share, base, "<=", self.span(meta))

    # ---- criteria --------------------------------------------------------------------------------------

    def _bool(self, kind, meta, children):  # meta: the Span of the whole
        operands = tuple(self._nodes(children))
        return kind(operands, self.span(meta))

    def c_or(self, children):
        meta = self.extent(children)
        return self._bool(ast.Or, meta, children)

    def c_and(self, children):
        meta = self.extent(children)
        return self._bool(ast.And, meta, children)

    def c_negation(self, children):
        meta = self.extent(children)
        return ast.Not(self._nodes(children)[0], self.span(meta))

    def c_atom(self, children):  # parenthesised: the node's span takes in the parentheses
        node = self._nodes(children)[0]
        return dataclasses.replace(node, span=self.extent(children))

    f_or, f_and, f_negation, f_atom = c_or, c_and, c_negation, c_atom
    w_or, w_and, w_negation, w_atom = c_or, c_and, c_negation, c_atom

    def wholly_obtained(self, children):
        meta = self.extent(children)
        return ast.WhollyObtained(self.span(meta))

    def change(self, children):
        meta = self.extent(children)
        alias = self._tok(children, "ALIAS")
        nodes = self._nodes(children)
        except_ = None
        groups = ()
        if nodes and isinstance(nodes[-1], tuple) and nodes[-1][0] == "except_groups":
            groups = nodes.pop()[1]
        if nodes and isinstance(nodes[-1], tuple):
            except_ = nodes.pop()[1]
        if alias is not None:
            level = {"CC": Level.CHAPTER, "CTH": Level.HEADING, "CTSH": Level.SUBHEADING}[str(alias)]
            return ast.Change((ast.AnyOther(level, self.span(alias)),), except_, str(alias), self.span(meta), groups)
        return ast.Change(tuple(nodes), except_, None, self.span(meta), groups)

    def except_groups(self, children):
        return ("except_groups", tuple(self._nodes(children)), children[0])

    def hs_group(self, children):  # the span takes in the parentheses
        return dataclasses.replace(self._nodes(children)[0], span=self.span(self.extent(children)))

    def where_source(self, children):
        meta = self.extent(children)
        item, fact = children[0], str(children[2])
        if fact in FACTS:
            self.error("ROO018", f"`{fact}` is a fact of the good, not of a material", children[2],
                       "`where` tests the materials' declared facts (`materials[i].facts.NAME`)")
        return ast.Where(item, fact, children[4], self.span(meta))

    def any_other(self, children):
        meta = self.extent(children)  # the level's tokens ride along in its tuple
        return ast.AnyOther(self._nodes(children)[0][0], self.span(meta))

    def level(self, children):
        """(Level, its tokens): the tokens give the span of `any other heading` its end."""
        words = children[0] if len(children) == 1 else " ".join(children)
        return (_LEVELS.get(words) or Level.from_word(str(words)), *children)

    def comparator(self, children):
        tok = children[0]
        if tok.type in ("EQ", "EQEQ"):
            self.error(
                "ROO012", f"`{tok}` is not a comparison here", tok,
                "thresholds are floors `>=` (\"not less than\") or ceilings `<=` (\"does not exceed\")",
            )
            return ">="
        return str(tok)

    def share(self, children):
        tok = children[0]
        base = children[2] if len(children) > 2 else None
        if tok.type == "CODE":
            self.error("ROO011", f"`{tok}` needs a `%` sign", tok, f"write `{tok}%`")
            try:
                value = Decimal(str(tok))
            except Exception:
                value = Decimal(0)
            return (ast.Percent(value, self.span(tok)), base)
        value = self._number(tok, str(tok)[:-1])
        return (ast.Percent(value if value is not None else Decimal(0), self.span(tok)), base)

    def comparison(self, children):
        meta = self.extent(children)
        measure, op, (share, base) = children
        if isinstance(measure, ast.FactValue) and base is not None:
            self.error(
                "ROO016", f"`fact({measure.name})` is a declared number of percent points, not a share of a figure",
                share.span, f"write e.g. `fact({measure.name}) >= {share.value}%`",
            )
            base = None
        if isinstance(measure, ast.Sum) and base is None:
            self.error(
                "ROO016", f"`{measure.measure}(...)` is compared with a share of what?", share.span,
                f"write e.g. `{share.value}% of transaction_value`",
            )
        return ast.Comparison(measure, op, share, base, self.span(meta))

    def _arg_nodes(self, children) -> list:
        return self._nodes(children)

    def rvc(self, children):
        meta = self.extent(children)
        args = self._arg_nodes(children)
        span = self.span(meta)
        names = [a.name if isinstance(a, ast.SetRef) else None for a in args]
        if not args or names[0] is None:
            self.error("ROO017", "`rvc(...)` needs a method first", span, "write `rvc(net_cost)` or `rvc(transaction_value)`")
            return ast.Rvc("transaction_value", None, None, span)
        method = names[0]
        if method not in RVC_METHODS:
            self.error("ROO014", f"unknown RVC method `{method}`", args[0].span, self._names_suggestion(method, RVC_METHODS))
        basis = None
        rest = args[1:]
        if method in ("build_down", "build_up", "focused_value"):
            if not rest or names[1] is None:
                self.error("ROO017", f"`rvc({method}, ...)` needs a price basis", span, f"write `rvc({method}, fob)`")
            else:
                basis = names[1]
                rest = args[2:]
                if basis not in PRICE_BASES:
                    self.error("ROO014", f"unknown price basis `{basis}`", args[1].span, self._names_suggestion(basis, PRICE_BASES))
        focus = None
        if method == "focused_value":
            if not rest:
                self.error("ROO017", "`rvc(focused_value, ...)` needs the HS codes of the focused materials", span, "write `rvc(focused_value, fob, 94.03)`")
            else:
                focus = ast.HsSetExpr(tuple(rest), rest[0].span)
        elif rest:
            self.error("ROO017", f"`rvc({method})` takes no further arguments", rest[0].span)
        return ast.Rvc(method, basis, focus, span)

    def max_nom(self, children):
        meta = self.extent(children)
        args = self._arg_nodes(children)
        span = self.span(meta)
        if len(args) != 1 or not isinstance(args[0], ast.SetRef):
            self.error("ROO017", "`max_nom(...)` takes one price basis", span, "write `max_nom(ex_works)`")
            return ast.MaxNom("ex_works", span)
        basis = args[0].name
        if basis not in PRICE_BASES:
            self.error("ROO014", f"unknown price basis `{basis}`", args[0].span, self._names_suggestion(basis, PRICE_BASES))
        return ast.MaxNom(basis, span)

    def sum(self, children):
        meta = self.extent(children)
        opener = children[0]
        measure = "value" if str(opener).startswith("value") else "weight"
        nodes = self._nodes(children)
        traced = self._tok(children, "TRACED_ARG", "TRACED") is not None
        name = self._tok(children, "NAME")
        part = None
        if name is not None:
            part = str(name)
            if part not in MATERIAL_PARTS:
                self.error("ROO021", f"unknown part of a material `{part}`", name,
                           self._names_suggestion(part, MATERIAL_PARTS)
                           + f" (a filter on a declared fact is written `{part} in [words]`)")
        return ast.Sum(measure, nodes[0] if nodes else None, traced, self.span(meta), part)

    def figure(self, children):
        meta = self.extent(children)
        name = str(children[0])
        if name not in FIGURES:
            self.error("ROO016", f"unknown product figure `{name}`", children[0], self._names_suggestion(name, FIGURES))
        return ast.Figure(name, self.span(meta))

    def _country_target(self, children):
        nodes = self._nodes(children)
        if nodes:
            return nodes[0]
        tok = children[-1]
        if tok.type == "PARTIES":
            return ast.Parties(self.span(tok))
        return ast.SetRef(str(tok), self.span(tok))

    def performed(self, children):
        meta = self.extent(children)
        process = _unquote(self._tok(children, "STRING"))
        return ast.Performed(process, self._country_target(children[3:]), self.span(meta))

    # ---- filters and conditions ------------------------------------------------------------------------------

    def f_originating(self, children):
        meta = self.extent(children)
        return ast.IsOriginating(False, self.span(meta))

    def f_non_originating(self, children):
        meta = self.extent(children)
        return ast.IsOriginating(True, self.span(meta))

    def f_origin(self, children):
        meta = self.extent(children)
        return ast.OriginIn(self._country_target(children[2:]), self.span(meta))

    def f_hs(self, children):
        meta = self.extent(children)
        return ast.HsIn(children[2], self.span(meta))

    def f_same(self, children):
        meta = self.extent(children)
        return ast.SameCode(children[1][0], self.span(meta))

    def f_kind(self, children):
        meta = self.extent(children)
        return ast.KindIn(children[2], self.span(meta))

    def fact_in(self, children):
        meta = self.extent(children)
        fact = str(children[0])
        target = self._country_target(children[2:])
        if fact not in FACTS:
            close = difflib.get_close_matches(fact, FACTS, n=1, cutoff=0.75)
            if close:  # a slip of a built-in fact, not a declared fact of its own
                self.error("ROO018", f"unknown fact `{fact}`", children[0], self._names_suggestion(fact, FACTS))
            elif not isinstance(target, ast.WordList):
                self.error("ROO018", f"`{fact}` is a declared fact of the good: its values are words in brackets",
                           children[2], f"write e.g. `{fact} in [yes]`")
        return ast.FactIn(fact, target, self.span(meta))

    def f_fact(self, children):
        meta = self.extent(children)
        fact = str(children[0])
        if fact in FACTS:
            self.error("ROO018", f"`{fact}` is a fact of the good, not of a material", children[0],
                       "a material filter tests the materials' declared facts (`materials[i].facts.NAME`); "
                       "test the good's facts with `when`")
        return ast.FactIn(fact, children[2], self.span(meta))

    def fact_value(self, children):
        meta = self.extent(children)
        token = self._tok(children, "NAME")
        name = str(token)
        if name in FACTS:
            self.error("ROO018", f"`fact({name})` names a built-in fact, which is not a number", token,
                       "`fact(NAME)` reads a number declared in product.facts")
        return ast.FactValue(name, self.span(meta))

    # ---- values ---------------------------------------------------------------------------------------------------

    def word_list(self, children):
        meta = self.extent(children)
        words = tuple(ast.Word(str(t), self.span(t)) for t in children if isinstance(t, Token) and t.type == "NAME")
        return ast.WordList(words, self.span(meta))

    def hs_set(self, children):
        meta = self.extent(children)
        return ast.HsSetExpr(tuple(self._nodes(children)), self.span(meta))

    def hs_code(self, children):
        return self._code(children[0])

    def hs_range(self, children):
        meta = self.extent(children)
        return ast.HsRangeLit(self._code(children[0]), self._code(children[2]), self.span(meta))

    def set_ref(self, children):
        return ast.SetRef(str(children[0]), self.span(children[0]))
