"""The origin criterion a certification of origin states, derived from how the good qualified.

In: an engine :class:`~origin_rules.engine.evaluate.Outcome` of a good that qualifies.
Out: a :class:`Criterion` (the letter and what it means), or :class:`NotDerived` saying why
no letter can be derived (the certify command then refuses).

USMCA Art. 4.2, which Annex 5-A's "Origin Criterion" element points to (docs/certify.md,
Sources): a good is originating if it is (a) wholly obtained or produced entirely in the
territory of one or more of the Parties; (b) produced entirely there using non-originating
materials, provided it satisfies all applicable requirements of Annex 4-B (the
product-specific rules); (c) produced entirely there exclusively from originating
materials; or (d) (except chapters 61-63) produced entirely there, with non-originating
parts that cannot change classification (same subheading, or imported unassembled and
classified assembled by GRI 2(a)), and a regional value content of at least 60% (transaction
value) or 50% (net cost). The engine's criteria map one to one:

============================  ===  =========================================================
engine ``criterion``          A-D  how it qualified
============================  ===  =========================================================
``wholly_obtained``           A    the product is wholly obtained
``product_specific_rule``     B    the product-specific rule holds
``all_materials_originating`` C    every material is originating
``fallback`` (GN11(b)(iv))    D    a fallback citing GN11(b)(iv) / 19 U.S.C. 4531(c)(1)(D)
============================  ===  =========================================================

Any other fallback (the retail-set rule, 19 U.S.C. 4531(m)) is no criterion A-D by name:
it is not derived.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Criterion", "NotDerived", "USMCA_CRITERIA", "usmca_criterion"]

#: The four criteria, in the words of USMCA Art. 4.2 (abridged for (d); docs/certify.md).
USMCA_CRITERIA: dict[str, str] = {
    "A": "wholly obtained or produced entirely in the territory of one or more of the Parties (Art. 4.2(a))",
    "B": "produced entirely in the territory of one or more of the Parties using non-originating materials, "
         "satisfying all applicable requirements of Annex 4-B, the product-specific rules of origin (Art. 4.2(b))",
    "C": "produced entirely in the territory of one or more of the Parties exclusively from originating "
         "materials (Art. 4.2(c))",
    "D": "produced entirely in the territory of one or more of the Parties; non-originating parts cannot change "
         "classification (same subheading, or imported unassembled: GRI 2(a)); regional value content not less "
         "than 60% (transaction value) or 50% (net cost) (Art. 4.2(d))",
}

_FALLBACK_D = ("GN11(b)(iv)", "4531(c)(1)(D)", "4.2(d)")


@dataclass(frozen=True, slots=True)
class Criterion:
    letter: str
    meaning: str
    how: str  # how the good qualified, in the engine's words


class NotDerived(Exception):
    """No origin criterion A-D follows from how the good qualified."""


def usmca_criterion(outcome) -> Criterion:
    """The Annex 5-A origin criterion of a good that qualifies under USMCA (or a scenario on it)."""
    how = outcome.criterion
    letter = {"wholly_obtained": "A", "product_specific_rule": "B", "all_materials_originating": "C"}.get(how)
    if how == "fallback":
        held = [fb for fb, node in outcome.fallbacks if node.result is True]
        cites = " ".join(c for fb in held for c in fb.node.cites)
        if held and any(mark in cites for mark in _FALLBACK_D):
            letter = "D"
            how = f"fallback: {held[0].text}"
        else:
            names = ", ".join(f'"{fb.text}"' for fb in held) or "a fallback"
            raise NotDerived(f"it qualifies by {names}, which is none of the origin criteria A-D of Art. 4.2 "
                             "by name: state the criterion by hand")
    if letter is None:
        raise NotDerived(f"it qualifies by `{how}`, from which no origin criterion A-D is derived")
    return Criterion(letter, USMCA_CRITERIA[letter], how)
