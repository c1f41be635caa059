"""Benchmark: reading the mailing lists, against a plain dictionary merge of the same CSV.

    .venv/bin/python bench/bench_lists.py [--sizes 1000 10000 100000] [--runs 3]

For each size it writes a members.csv where half of the people have one row per network (the
way a spreadsheet exported per network looks, so their rows must be merged) and half one row
with every network, then times composer's `read_lists` (encoding detection, line numbers,
problems, the compact People store) and the baseline: `csv.DictReader` into a dict keyed by the
lowercased address, with the same validation (the address through email-validator, control
characters in name and organisation, known network ids). Best of --runs, taken in turn; prints
the ratio.
"""

from __future__ import annotations

import argparse
import csv
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench_send import make_project

from composer.content.fields import usable_address
from composer.content.loading import load_project
from composer.lists.recipients import MEMBER_COLUMNS, MEMBERS_FILE, read_lists

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
TARGET = 1.5


def write_members(path: Path, people: int, networks: list[str]) -> int:
    """`people` members, the even ones on one row per network; returns the number of rows."""
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(MEMBER_COLUMNS)
        for index in range(people):
            chosen = [networks[(index + step * 5) % len(networks)] for step in range(1 + index % 3)]
            person = {
                "email": f"Person.{index}@council-{index % 97}.example",
                "first_name": "Person",
                "name": f"Person {index}",
                "organisation": "A Council",
            }
            lines = [[n] for n in chosen] if index % 2 == 0 else [chosen]
            for ids in lines:
                writer.writerow([{**person, "networks": ";".join(ids)}[column] for column in MEMBER_COLUMNS])
                rows += 1
    return rows


def dict_merge(path: Path, known: set[str]) -> dict[str, tuple[str, str, str, str, set[str]]]:
    """The baseline: one pass, a dict keyed by the lowercased address, the same checks."""
    people: dict[str, tuple[str, str, str, str, set[str]]] = {}
    with path.open(encoding="utf-8-sig", newline="") as stream:
        for row in csv.DictReader(stream):
            try:
                email = usable_address(row["email"])
            except ValueError:
                continue
            name, organisation = row["name"].strip(), row["organisation"].strip()
            first_name = row["first_name"].strip()
            ids = {part.strip().lower() for part in row["networks"].split(";") if part.strip()}
            if any(CONTROL.search(value) for value in (name, organisation, first_name)) or ids - known:
                continue
            first = people.setdefault(email.lower(), (email, name, organisation, first_name, set()))
            first[4].update(ids)
    return people


def best_of_both(
    ours: Callable[[], object], baseline: Callable[[], object], runs: int
) -> tuple[float, float]:
    """The best time of each, their runs taken in turn so that a busy moment hits both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for function, found in zip((ours, baseline), times, strict=True):
            start = time.perf_counter()
            function()
            found.append(time.perf_counter() - start)
    return min(times[0]), min(times[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(
        f"{'people':>8} {'rows':>8} {'read_lists':>11} {'dict merge':>11} {'ratio':>6}  (target ≤ {TARGET}×)"
    )
    worst = 0.0
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            root = make_project(Path(folder) / str(size), 0)
            project = load_project(root)
            path = root / MEMBERS_FILE
            rows = write_members(path, size, list(project.networks))
            lists = read_lists(project)
            assert not lists.errors and len(lists.people) == size == len(
                dict_merge(path, set(project.networks))
            )
            ours, baseline = best_of_both(
                lambda: read_lists(project),  # noqa: B023 (called at once)
                lambda: dict_merge(path, set(project.networks)),  # noqa: B023
                args.runs,
            )
            worst = max(worst, ours / baseline)
            print(f"{size:>8} {rows:>8} {ours:>10.3f}s {baseline:>10.3f}s {ours / baseline:>5.2f}×")
    print(f"worst ratio {worst:.2f}× ({'within' if worst <= TARGET else 'OVER'} the {TARGET}× target)")


if __name__ == "__main__":
    main()
