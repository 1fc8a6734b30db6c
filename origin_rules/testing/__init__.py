"""Public test helpers: hypothesis strategies for rule-language ASTs.

In: nothing. Out: the strategies of :mod:`origin_rules.testing.ast_strategies`, re-exported
here (``from origin_rules.testing import modules, criteria``) for property tests and for
generating rulebooks.
"""

from .ast_strategies import (
    COUNTRIES, END_USES, KINDS, PROCESSES, RESERVED, agreements, body_lines, changes,
    comparisons, conditions, country_sets, criteria, dates, de_minimis_lines, filters,
    hs_code_lits, hs_codes, hs_ranges, hs_sets, modules, names, percents, requires, rule_groups, rules,
    rvcs, scenarios, selectors, set_decls, set_names, sums, texts, titles, word_lists,
)

__all__ = [
    "COUNTRIES", "END_USES", "KINDS", "PROCESSES", "RESERVED", "agreements", "body_lines",
    "changes", "comparisons", "conditions", "country_sets", "criteria", "dates",
    "de_minimis_lines", "filters", "hs_code_lits", "hs_codes", "hs_ranges", "hs_sets", "modules", "names",
    "percents", "requires", "rule_groups", "rules", "rvcs", "scenarios", "selectors",
    "set_decls", "set_names", "sums", "texts", "titles", "word_lists",
]

# BOMs in general and aimed at a rulebook (see docs/property-testing.md).
from ..diff.aimed import Aim, aim_at, aim_from_nodes, amounts_near, boms_aimed_at, boms_for_aim, merge_aims  # noqa: E402
from .bom_strategies import boms, boms_for  # noqa: E402
from .rulebook_strategies import rulebooks  # noqa: E402

__all__ += [
    "Aim", "aim_at", "aim_from_nodes", "amounts_near", "boms_aimed_at", "boms_for_aim", "merge_aims",
    "boms", "boms_for", "rulebooks",
]
