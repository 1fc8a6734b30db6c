"""Derive origin_rules/data/hs2022.tsv from the HS 2022 nomenclature data package.

In: ../shared/data/harmonized-system/harmonized-system.csv (datapackage `harmonized-system`
v2022.0, UN Comtrade, ODC-PDDL-1.0). Out: a TSV of code and description for every chapter
(2 digits), heading (4) and subheading (6). Run: python scripts/derive_hs.py [CSV] [OUT].
"""

import csv
import sys
from pathlib import Path

HEADER = (
    "# HS 2022 nomenclature: code<TAB>description.\n"
    "# Derived from ../shared/data/harmonized-system/harmonized-system.csv (datapackage "
    "'harmonized-system' v2022.0,\n# UN Comtrade, ODC-PDDL-1.0 public domain) by keeping the "
    "hscode and description columns of levels 2, 4 and 6.\n"
)


def main(argv: list[str]) -> None:
    src = Path(argv[1] if len(argv) > 1 else "../shared/data/harmonized-system/harmonized-system.csv")
    out = Path(argv[2] if len(argv) > 2 else "origin_rules/data/hs2022.tsv")
    with src.open(encoding="utf-8") as f, out.open("w", encoding="utf-8") as o:
        o.write(HEADER)
        for row in csv.DictReader(f):
            if row["level"] in ("2", "4", "6") and row["hscode"].isdigit():
                o.write(f"{row['hscode']}\t{row['description']}\n")


if __name__ == "__main__":
    main(sys.argv)
