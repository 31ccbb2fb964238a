"""Benchmark figures: each printed as one JSON line when measured, then together as a table."""

from __future__ import annotations

import json

FIGURES: list[dict] = []


def figure(name: str, value: float, unit: str, *, beside: str | None = None) -> None:
    """Record and print a figure; `beside` names the ceiling it is to be read against."""
    row = {"name": name, "value": round(value, 2), "unit": unit}
    if beside:
        row["beside"] = beside
    FIGURES.append(row)
    print(json.dumps(row), flush=True)


def print_table() -> None:
    print(f"\n{'figure':52} {'value':>12}  {'unit':10} beside")
    for row in FIGURES:
        print(f"{row['name']:52} {row['value']:>12}  {row['unit']:10} {row.get('beside', '')}")
