"""Generated rulebooks and BOMs for the benchmarks (deterministic: a fixed seed).

In: sizes. Out: rule text with N rules over real HS 2022 codes (the 8708.30 rule of
docs/language.md always included) and BOMs with M materials.
"""

from __future__ import annotations

import random
from decimal import Decimal

from origin_rules.model.bom import BOM
from origin_rules.model.hs import Level, nomenclature

RULE_8708_30 = """  rule 8708.30 "Brakes and servo-brakes; parts thereof" {
    change from any other heading
    or change from any other subheading and rvc(transaction_value) >= 60%
    or change from any other subheading and rvc(net_cost) >= 50%
  }
"""

HEADER = """agreement "Bench" {
  parties = [US, MX, CA]
  effective = 2020-07-01
  de_minimis value <= 10% of transaction_value
  set china = [CN]

  require for 84, 85, 87 {
    value(non_originating and origin in china) <= 10% of transaction_value
  }

"""

SHAPES = [
    "change from any other heading",
    "change from any other subheading and rvc(transaction_value) >= {t}%",
    "change from any other chapter or rvc(net_cost) >= {n}%",
    "change from any other heading except {x} or rvc(transaction_value) >= {t}%",
]


def selectors(n: int) -> list[str]:
    """n distinct selectors over real codes (subheadings, then tariff items under them)."""
    subs = [str(c) for c in nomenclature().codes(Level.SUBHEADING) if c.digits != "870830"]
    out = list(subs)
    k = 10
    while len(out) < n:
        out.extend(f"{s}.{k}" for s in subs)
        k += 10
    return out[:n]


def rulebook(n_rules: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    headings = [str(c) for c in nomenclature().codes(Level.HEADING)]
    parts = [HEADER, RULE_8708_30]
    for sel in selectors(n_rules - 1):
        shape = rng.choice(SHAPES).format(t=rng.choice((50, 55, 60, 65)), n=rng.choice((45, 50, 60)), x=rng.choice(headings))
        parts.append(f'  rule {sel} {{ {shape} }}\n')
    parts.append("}\n")
    return "".join(parts)


def bom(n_materials: int, seed: int = 11, china: bool = True) -> BOM:
    """A disc brake (8708.30) produced in MX with n materials, some originating, some Chinese
    (with ``china=False`` none: the China-content requirement holds and the rule decides)."""
    rng = random.Random(seed)
    codes = ["7318.15", "4016.93", "6813.81", "8708.99", "7325.99", "8483.10", "3926.90", "8544.42"]
    materials = []
    total = Decimal(0)
    for i in range(n_materials):
        value = Decimal(rng.randint(100, 2000)) / 100
        total += value
        originating = rng.random() < 0.6
        materials.append({
            "id": f"M{i}",
            "hs": rng.choice(codes),
            "origin": "MX" if originating else rng.choice(["CN", "DE", "JP", "CN"] if china else ["DE", "JP"]),
            "originating": originating,
            "value": str(value),
        })
    tv = (total * Decimal("2.2")).quantize(Decimal("0.01"))
    return BOM.model_validate({
        "product": {"id": "BRK-BENCH", "hs": "8708.30", "produced_in": "MX",
                    "transaction_value": str(tv), "net_cost": str((tv * Decimal("0.85")).quantize(Decimal("0.01")))},
        "materials": materials,
    })
