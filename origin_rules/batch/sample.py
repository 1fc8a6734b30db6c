"""Generated shipment portfolios, for benchmarks, tests and demonstrations.

In: how many shipments, how many products, a seed. Out: BOM mappings (the input format of
docs/bom.md) and JSON Lines text, deterministic for a seed. Shipments repeat their product's
BOM as real exports do (a product ships many times with the same bill of materials; a
product may have a second BOM variant after a change of supplier), with a skewed
popularity: a few products ship often, most rarely.

The goods are mostly auto parts, engines and batteries produced in Mexico, the US or
Canada (so the USMCA review scenarios bite), with 20 materials each, about half of them
non-originating, many from China; values are spread so that regional value contents fall
on both sides of their thresholds.
"""

from __future__ import annotations

import json
import random
from decimal import Decimal
from typing import Any, Iterator

from ..files.atomic import write_atomically

__all__ = ["PRODUCT_CODES", "product_bom", "shipments", "write_jsonl"]

PRODUCT_CODES = (
    "8708.30", "8708.10", "8708.21", "8708.40", "8708.50", "8708.80", "8708.94", "8708.99",
    "8407.34", "8507.60", "9403.30", "7312.10",
)
MATERIAL_CODES = (
    "7318.15", "4016.93", "6813.81", "7325.99", "8483.10", "3926.90", "8544.42", "7326.19",
    "8482.10", "7606.12", "8536.50", "7208.51", "8409.91", "8507.90", "4009.11", "7616.99",
)
NON_ORIGINATING = ("CN", "CN", "CN", "DE", "JP", "KR", "VN", "IN", "TW")
PARTIES = ("MX", "MX", "MX", "US", "US", "CA")


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def product_bom(seed: int, variant: int = 0, materials: int = 20) -> dict[str, Any]:
    """One product's BOM; ``variant`` > 0 is the same product after supplier changes."""
    rng = random.Random(seed * 7919 + 13)
    hs = PRODUCT_CODES[seed % len(PRODUCT_CODES)]
    share_originating = rng.uniform(0.25, 0.8)
    china_bias = rng.random() * 0.7
    lines = []
    total = Decimal(0)
    for i in range(materials):
        value = Decimal(rng.randint(300, 20000)) / 100
        originating = rng.random() < share_originating
        origin = rng.choice(PARTIES) if originating else ("CN" if rng.random() < china_bias else rng.choice(NON_ORIGINATING))
        code = rng.choice(MATERIAL_CODES) if rng.random() > 0.05 else hs
        lines.append({"id": f"M{i:02d}", "hs": code, "origin": origin, "originating": originating, "value": value})
        total += value
    vrng = random.Random(seed * 104729 + variant)
    for _ in range(variant):  # a change of supplier: one material, another origin and price
        line = vrng.choice(lines)
        line["originating"] = not line["originating"]
        line["origin"] = vrng.choice(PARTIES) if line["originating"] else vrng.choice(NON_ORIGINATING)
        line["value"] = (line["value"] * Decimal(vrng.randint(80, 120)) / 100).quantize(Decimal("0.01"))
    total = sum((line["value"] for line in lines), Decimal(0))
    tv = total * Decimal(rng.randint(130, 260)) / 100
    product = {
        "id": f"P{seed:05d}", "description": f"generated product {seed}", "hs": hs,
        "produced_in": rng.choice(PARTIES), "currency": "USD",
        "transaction_value": _money(tv), "net_cost": _money(tv * Decimal("0.86")),
        "total_cost": _money(tv * Decimal("0.9")), "fob": _money(tv), "ex_works": _money(tv * Decimal("0.98")),
    }
    if hs.startswith(("8708", "8407")):
        product["end_use"] = "passenger_vehicle"
    for line in lines:
        line["value"] = _money(line["value"])
    return {"product": product, "materials": lines}


def shipments(n: int, products: int = 2000, variants: int = 2, seed: int = 1) -> Iterator[tuple[int, int]]:
    """``n`` shipments as (product seed, variant), popularity skewed (a few ship often)."""
    rng = random.Random(seed)
    for _ in range(n):
        product = min(int(rng.paretovariate(1.1)) - 1, products - 1) if rng.random() < 0.5 else rng.randrange(products)
        yield product, rng.randrange(variants)


def write_jsonl(path: str, n: int, products: int = 2000, variants: int = 2, seed: int = 1,
                broken: dict[int, str] | None = None) -> int:
    """Write ``n`` shipments as JSON Lines; ``broken`` maps 0-based record numbers to lines
    written instead (bad records). Returns the number of bytes written."""
    cache: dict[tuple[int, int], str] = {}
    size = 0
    def write(handle) -> None:
        nonlocal size
        buffer = []
        for index, key in enumerate(shipments(n, products, variants, seed)):
            if broken and index in broken:
                text = broken[index]
            else:
                text = cache.get(key)
                if text is None:
                    text = cache[key] = json.dumps(product_bom(*key), separators=(",", ":"))
            buffer.append(text + "\n")
            if len(buffer) >= 4096:
                chunk = "".join(buffer)
                size += len(chunk.encode())
                handle.write(chunk)
                buffer = []
        chunk = "".join(buffer)
        size += len(chunk.encode())
        handle.write(chunk)

    write_atomically(path, write)
    return size
