"""Benchmark: `composer inbox` on the two messages that stalled it, against the standard library's
email parser reading the same bytes.

    .venv/bin/python bench/bench_inbox.py [--recipients 20000] [--parts 1000000]

- a delivery report naming --recipients addresses (4.1 MB at 20,000; the last a member):
  the whole `inbox --dry-run --from-folder` run in-process on 61 members (project and lists loaded, the report
  parsed, classified, every address looked up); before issue 18 this took 162 s. Target < 5 s.
- --parts empty parts (10 MB at 1,000,000): the same run, where the parts cap refuses it; before,
  75 s in flufl.bounce, and 1.76 GB for 50 MB of them. Target < 5 s and < 500 MB.

Each is measured in a child process of its own (time and peak memory, ru_maxrss), beside the
baseline `email.message_from_bytes` of the same bytes in another child; prints the ratios.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from email import message_from_bytes
from pathlib import Path

from bench_send import make_project

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from mailbox_messages import delivery_report, empty_parts  # noqa: E402

from composer.commands.inbox import inbox  # noqa: E402

SECONDS, MEGABYTES = 5.0, 500.0
MEMBER = "grace.whitmore.0@bracknell-forest.example"  # the first of make_project's members


def message(kind: str, size: int) -> bytes:
    if kind == "report":
        return delivery_report([*(f"gone.{i}@departed.example" for i in range(size - 1)), MEMBER])
    return empty_parts(size)


def measure(kind: str, size: int, how: str) -> dict[str, float]:
    """In this (child) process: build the message, then time `how` on it; peak memory after."""
    data = message(kind, size)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        if how == "composer":
            project = make_project(root / "project", 61)
            (root / "saved").mkdir()
            (root / "saved" / "message.eml").write_bytes(data)
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            start = time.perf_counter()
            report = inbox(
                project,
                dry_run=True,
                folder=root / "saved",
                env={"COMPOSER_SECRET": "bench-secret-of-sixteen-characters"},
            )
            seconds = time.perf_counter() - start
            [action] = report.actions
            outcome = f"{action.kind}: {action.summary[:60]}"
        else:
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            start = time.perf_counter()
            parsed = message_from_bytes(data)
            seconds = time.perf_counter() - start
            outcome = f"{sum(1 for _ in parsed.walk()):,} parts"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_mb": peak, "before_mb": before, "bytes": len(data), "outcome": outcome}


def child(kind: str, size: int, how: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(size), how],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--parts", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=3, metavar=("KIND", "SIZE", "HOW"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, size, how = args.child
        print(json.dumps(measure(kind, int(size), how)))
        return
    print(f"{'message':<32} {'stdlib parse':>20} {'composer inbox':>22} {'ratio':>7}")
    for kind, size, label in (
        ("report", args.recipients, f"report of {args.recipients:,} recipients"),
        ("parts", args.parts, f"{args.parts:,} empty parts"),
    ):
        ours, baseline = child(kind, size, "composer"), child(kind, size, "stdlib")
        print(
            f"{label:<32} {baseline['seconds']:>7.2f}s {baseline['peak_mb']:>7.0f} MB "
            f"{ours['seconds']:>9.2f}s {ours['peak_mb']:>7.0f} MB "
            f"{ours['seconds'] / baseline['seconds']:>6.2f}×"
        )
        grown = ours["peak_mb"] - ours["before_mb"]
        within = ours["seconds"] < SECONDS and ours["peak_mb"] < MEGABYTES
        print(
            f"  {ours['bytes'] / 1e6:.1f} MB; composer: {ours['outcome']}; memory grew {grown:.0f} MB "
            f"(peak {ours['peak_mb']:.0f} MB); {'within' if within else 'OVER'} the target "
            f"(< {SECONDS:.0f} s, < {MEGABYTES:.0f} MB)"
        )


if __name__ == "__main__":
    main()
