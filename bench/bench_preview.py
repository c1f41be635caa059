"""Benchmark: the preview's save-to-refresh at 4 and 150 issues and at 10,000 people.

    .venv/bin/python bench/bench_preview.py [--issues 150] [--people 10000] [--runs 3]

For each case it starts the preview server (its default poll interval and settle time), opens
the latest issue's page and email as a browser would, then saves a change to that issue and
times, as the page's script does, the long poll that sees the new build and the fetch of the page
and of the email that shows the change: from the save to the refreshed email, the poll
included. Median of --runs saves; the worker thread keeps checking the other editions meanwhile,
as it does while someone edits. The baseline, from the same run, is what a save cost before the
preview answered first: loading the project and the lists, and `composer check` of the issue
(every edition rendered).
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import yaml
from bench_scale import write_history, write_people
from bench_send import REPO, make_project

from composer.content.loading import load_project
from composer.email.check import check_issue
from composer.lists.recipients import MEMBERS_FILE, read_lists
from composer.web.preview.server import PreviewServer, open_preview

TARGET = 1.0


def get(server: PreviewServer, target: str) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=120)
    connection.request("GET", target)
    body = connection.getresponse().read().decode("utf-8")
    connection.close()
    return body


def edit(path: Path, title: str) -> None:
    """Save the issue with a new title for its first item (a normal edit)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["items"][0]["title"] = title
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def save_to_refresh(root: Path, runs: int) -> float:
    """The median seconds from a save to the refreshed email."""
    number = load_project(root).issues[-1].number
    path = root / "issues" / f"{number}.yaml"
    server = open_preview(root, port=0).start()
    times = []
    try:
        get(server, f"/issue/{number}/")
        get(server, f"/issue/{number}/email/full.html")
        for run in range(runs):
            time.sleep(1.0)  # someone reads, then saves again
            build, checked = server.app.build.id, server.app.checked(number)
            title = f"Saved change number {run}"
            edit(path, title)
            started = time.perf_counter()
            seen = build
            while seen == build:  # as the page: a poll may end for the other editions' check
                reply = json.loads(get(server, f"/livereload?since={build}&checked={checked}&issue={number}"))
                seen, checked = reply["build"], reply["checked"]
            get(server, f"/issue/{number}/")
            email = get(server, f"/issue/{number}/email/full.html")
            times.append(time.perf_counter() - started)
            assert title in email, "the refreshed email does not show the change"
    finally:
        server.close()
    return statistics.median(times)


def before(root: Path) -> float:
    """What every save cost before: the project and lists loaded, every edition checked."""
    started = time.perf_counter()
    project = load_project(root)
    check_issue(project, lists=read_lists(project))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--issues", type=int, default=150)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cases = [("4 issues, 61 people", 4, 0), (f"{args.issues} issues", args.issues, 0)]
    cases.append((f"4 issues, {args.people:,} people", 4, args.people))
    print(f"{'case':28} {'save → refresh':>15} {'before':>10} {'ratio':>7}  target: under {TARGET:.0f} s")
    worst = 0.0
    with tempfile.TemporaryDirectory() as folder:
        for label, issues, people in cases:
            root = make_project(Path(folder) / label.replace(" ", "-"), 0)
            if people:
                write_people(root, people)
            else:
                shutil.copy2(REPO / MEMBERS_FILE, root / MEMBERS_FILE)
            write_history(root, issues)
            ours = save_to_refresh(root, args.runs)
            baseline = before(root)
            worst = max(worst, ours)
            print(f"{label:28} {ours:>13.2f} s {baseline:>8.2f} s {ours / baseline:>6.2f}×")
    print(f"slowest {worst:.2f} s ({'within' if worst < TARGET else 'OVER'} the {TARGET:.0f} s target)")


if __name__ == "__main__":
    main()
