"""Benchmark: the commands at 61, 10,000 and 100,000 people, and at 4 and 150 issues.

    .venv/bin/python bench/bench_scale.py [--people 10000 100000] [--issues 150]

People: the example programme with its 61 members, then generated members in one to four of its
13 networks chosen at random (about 1,000 sets of networks). For each: `composer check` and
`composer send --dry-run` (each the real command in a child process), then a real send of the
latest issue (in a child process: its peak memory is its own) to a local sink, Postfix's
smtp-sink (`make bench` installs it) or aiosmtpd where it is missing, timed to the first
accepted message and to the end. Issues: a generated history (the example issues
repeated, weekly, with their dates moved along) of 4 and of --issues issues: `check` of the
latest, `new`, and `archive` from scratch and again after one more issue. Every figure is printed
beside its baseline from the same run (the small case), with the ratio and the issue's target.
`check` at 4 and at --issues issues: once with nothing parsed before, then the median of three
runs each just after this week's file was saved (the earlier files come from the parse cache in
the project's cache folder, as in a week's work; its target is a ratio of 1.3); the other cases run once each.
The data lives in a temporary folder.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from bench_send import (
    REPO,
    SECRET,
    SMTP_SINK,
    SMTP_SOURCE,
    child,
    free_port,
    make_project,
    message_size,
    run_smtp_source,
    start_sink,
)

from composer.content.yamlio import load_yaml
from composer.lists.recipients import MEMBER_COLUMNS, MEMBERS_FILE

EXAMPLE_PEOPLE = 61
ISSUE = 377


def write_people(root: Path, count: int) -> None:
    """`count` members, each in one to four networks chosen at random (seeded: the same every run)."""
    chooser = random.Random(count)
    networks = [n["id"] for n in yaml.safe_load((root / "recipients" / "networks.yaml").read_text())]
    with (root / MEMBERS_FILE).open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(MEMBER_COLUMNS)
        for index in range(count):
            chosen = chooser.sample(networks, chooser.randint(1, 4))
            address = f"person.{index}@council-{index % 97}.example"
            row = {"email": address, "first_name": "Person", "name": f"Person {index}"}
            row |= {"organisation": "A Council", "networks": ";".join(chosen)}
            writer.writerow([row[column] for column in MEMBER_COLUMNS])


def _moved(value: Any, days: dt.timedelta, suffix: str) -> Any:
    """An issue's data with every date moved by `days` and every item id made unique."""
    if isinstance(value, dt.date):
        return value + days
    if isinstance(value, list):
        return [_moved(entry, days, suffix) for entry in value]
    if isinstance(value, dict):
        moved = {key: _moved(entry, days, suffix) for key, entry in value.items()}
        if "id" in moved and "title" in moved:
            moved["id"] = f"{moved['id']}-{suffix}"
            moved.pop("update", None)  # it would name the example's earlier item, renamed here
        return moved
    return value


def write_history(root: Path, count: int) -> None:
    """`count` weekly issues numbered from 1, each one of the example issues with its dates moved,
    the last being the latest example."""
    examples = sorted((REPO / "issues").glob("*.yaml"))
    folder = root / "issues"
    shutil.rmtree(folder)
    folder.mkdir()
    start = dt.date(2017, 1, 6)
    standing: list[str] = []  # the open notices shown: each is dropped when the next one starts
    for index in range(count):
        # the latest issue is the latest example whatever `count`: the checks compare like with like
        located, _ = load_yaml(examples[(index - count) % len(examples)], "example")  # 10:30 stays text
        assert located is not None
        data = located.data
        date = start + dt.timedelta(weeks=index)
        data = _moved(data, date - data["date"], str(index + 1))
        data.pop("reminders", None)  # overrides name items of the example's own earlier issues
        opened = [item["id"] for item in data.get("items") or [] if item.get("remind") == "open"]
        if opened:
            if standing:
                data["reminders"] = {"drop": standing}
            standing = opened
        data["number"], data["date"] = index + 1, date
        (folder / f"{index + 1}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def edited_check(root: Path, latest: int, run: int) -> float:
    """`check` as the week goes: this week's file just saved, the earlier ones as they were."""
    path = root / "issues" / f"{latest}.yaml"
    path.write_text(path.read_text(encoding="utf-8") + f"# edit {run}\n", encoding="utf-8")
    return composer(root, "check")


def composer(root: Path, *args: str) -> float:
    """Seconds the real command takes in a child process (it must succeed)."""
    env = {**os.environ, "COMPOSER_SECRET": SECRET}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "composer", *args, "--project", str(root)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    took = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"composer {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return took


SOURCE_MESSAGES = 20_000  # at most: smtp-source's rate is steady well before


def send(root: Path) -> dict[str, float]:
    """A real send of the latest issue to a local sink, in a child process (smtp-sink is C: the
    sink is not what is measured), then Postfix's smtp-source on the same sink with messages of
    the same size: the ceiling, `ceiling` messages a second (nan without Postfix)."""
    shutil.rmtree(root / ".composer", ignore_errors=True)
    port = free_port()
    sink = start_sink("smtp-sink" if SMTP_SINK.exists() else "aiosmtpd", port)
    try:
        sent = child("composer", root, port, ISSUE)
        ceiling = float("nan")
        if SMTP_SOURCE.exists() and SMTP_SINK.exists():
            count = int(min(sent["messages"], SOURCE_MESSAGES))
            source = run_smtp_source(port, count, message_size(root, ISSUE))
            ceiling = source["messages"] / source["delivery"]
        return {**sent, "ceiling": ceiling}
    finally:
        sink.terminate()
        sink.wait()


def line(what: str, small: str, large: str, ratio: float, target: str) -> None:
    print(f"{what:40} {small:>16} {large:>18} {ratio:7.2f}×  {target}")


def seconds(what: str, small: float, large: float, label: str, target: str = "") -> None:
    """A timing beside its baseline, the ratio of the two."""
    line(what, f"{small:.2f} s", f"{label}: {large:.2f} s", large / small, target)


def people(folder: Path, sizes: list[int]) -> None:
    print(f"{'people':40} {'61 (baseline)':>16} {'':>18} {'ratio':>8}  target")
    base = make_project(folder / "61", 0)
    shutil.copy2(REPO / MEMBERS_FILE, base / MEMBERS_FILE)
    small = {"check": composer(base, "check"), "dry": composer(base, "send", "--dry-run"), "send": send(base)}
    for size in sizes:
        root = make_project(folder / str(size), 0)
        write_people(root, size)
        label = f"{size:,} people"
        check, dry = composer(root, "check"), composer(root, "send", "--dry-run")
        seconds("composer check", small["check"], check, label, "≤ 1.5× at 10,000" if size <= 10_000 else "")
        target = "≤ 3× at 10,000" if size <= 10_000 else ""
        seconds("composer send --dry-run", small["dry"], dry, label, target)
        sent = send(root)
        first, whole = sent["first"], sent["total"]
        line(
            "first message (s; share of the send)",
            f"{small['send']['first']:.2f} s",
            f"{label}: {first:.2f} s",
            first / whole,
            "≤ 2 s at 100,000" if size >= 100_000 else "",
        )
        line(
            "whole send (s)",
            f"{small['send']['total']:.2f} s",
            f"{label}: {whole:.1f} s",
            whole / small["send"]["total"],
            f"{sent['messages'] / sent['delivery']:.0f} msg/s",
        )
        rate = sent["messages"] / sent["delivery"]
        line(
            "send rate against smtp-source (msg/s)",
            f"{sent['ceiling']:.0f} msg/s",
            f"{label}: {rate:.0f} msg/s",
            rate / sent["ceiling"],
            "≥ 0.5 of smtp-source on the same sink",
        )
        line(
            "peak memory of the send",
            f"{small['send']['rss']:.0f} MB",
            f"{label}: {sent['rss']:.0f} MB",
            sent["rss"] / small["send"]["rss"],
            "< 150 MB at 100,000" if size >= 100_000 else "",
        )


def history(folder: Path, count: int) -> None:
    print(f"{'issues':40} {'4 (baseline)':>16} {'':>18} {'ratio':>8}  target")
    figures = []
    for issues in (4, count):
        root = make_project(folder / f"issues-{issues}", 0)
        shutil.copy2(REPO / MEMBERS_FILE, root / MEMBERS_FILE)
        write_history(root, issues)
        cold = composer(root, "check")  # parses every file (and keeps them in the cache folder)
        check = statistics.median(edited_check(root, issues, run) for run in range(3))
        archive = composer(root, "archive")
        new = composer(root, "new")
        again = composer(root, "archive")  # with `new`'s issue: only the pages that changed are written
        figures.append((cold, check, new, archive, again))
    (cold, check, new, archive, again), (cold_l, check_l, new_l, archive_l, again_l) = figures
    label = f"{count} issues"
    seconds("composer check (latest just edited)", check, check_l, label, "≤ 1.3×")
    seconds("composer check (nothing parsed before)", cold, cold_l, label)
    seconds("composer new", new, new_l, label)
    seconds("composer archive (from scratch)", archive, archive_l, label)
    line(
        "composer archive (again, one issue more)",
        f"{again:.2f} s",
        f"{label}: {again_l:.2f} s",
        again_l / archive_l,
        "ratio: against from scratch",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--people", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--issues", type=int, default=150, help="0: skip the history")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if args.issues:
            history(Path(folder), args.issues)
        if args.people:
            people(Path(folder), args.people)


if __name__ == "__main__":
    main()
