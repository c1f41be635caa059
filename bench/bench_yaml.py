"""Benchmark: loading each example issue file with libyaml against the pure-Python parser.

    .venv/bin/python bench/bench_yaml.py [--runs 20]

Both go through the same event-built tree, limits and line table (composer.content.yamlio.parse_yaml),
so the ratio is what libyaml saves on every command that loads the issues.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import yaml

from composer.content.yamlio import FAST_LOADER, PURE_LOADER, parse_yaml

REPO = Path(__file__).resolve().parent.parent


def best_ms(text: str, name: str, loader: type[yaml.SafeLoader], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        parse_yaml(text, name, aliases=False, loader=loader)
        times.append(time.perf_counter() - start)
    return min(times) * 1000  # the run least disturbed by other work on a shared machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    if FAST_LOADER is PURE_LOADER:
        raise SystemExit("PyYAML was built without libyaml: nothing to compare")
    print(f"{'issue file':<18}{'bytes':>8}{'libyaml ms':>12}{'Python ms':>11}{'ratio':>8}")
    totals = [0.0, 0.0]
    for path in sorted((REPO / "issues").glob("*.yaml")):
        text = path.read_text(encoding="utf-8-sig")
        fast = best_ms(text, path.name, FAST_LOADER, args.runs)
        pure = best_ms(text, path.name, PURE_LOADER, args.runs)
        totals[0] += fast
        totals[1] += pure
        name, size = "issues/" + path.name, len(text.encode())
        print(f"{name:<18}{size:>8}{fast:>12.2f}{pure:>11.2f}{pure / fast:>7.1f}×")
    print(f"{'all':<18}{'':>8}{totals[0]:>12.2f}{totals[1]:>11.2f}{totals[1] / totals[0]:>7.1f}×")


if __name__ == "__main__":
    main()
