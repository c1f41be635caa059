"""Benchmark: the link check of 200 links whose servers answer each request in 100 ms.

    .venv/bin/python bench/bench_links.py [--links 200] [--delay 0.1] [--origins 16] [--sequential 200]

The links are spread over `--origins` local servers on 127.0.0.1 (one origin each, as the links
of an Update are spread over many sites). Composer's figure is printed beside two baselines of
the same run: the ideal (every link asked once, 16 at a time, each taking exactly `--delay`) and a
plain sequential httpx loop of HEAD requests over the first `--sequential` links, scaled to all of
them. Target: 200 links in under 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from link_server import LinkServer  # noqa: E402

from composer.content.settings import LinkCheck  # noqa: E402
from composer.email.asklinks import IN_ALL, Asker  # noqa: E402


def composer_seconds(urls: list[str]) -> tuple[float, int]:
    """The checker as `check --links` runs it: the time, and how many answered 200."""
    asker = Asker(LinkCheck(), agent="composer bench", language="en-GB")
    start = time.perf_counter()
    answers = asyncio.run(asker.ask_all((url, False) for url in urls))
    return time.perf_counter() - start, sum(answer.status == 200 for answer in answers.values())


def sequential_seconds(urls: list[str]) -> float:
    """The plain way: one HEAD after another with one httpx client."""
    start = time.perf_counter()
    with httpx.Client(timeout=10) as client:
        for url in urls:
            client.head(url)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--links", type=int, default=200)
    parser.add_argument("--delay", type=float, default=0.1, help="seconds each answer takes")
    parser.add_argument("--origins", type=int, default=16)
    parser.add_argument("--sequential", type=int, default=200, help="links the sequential loop asks")
    args = parser.parse_args()
    servers = [LinkServer(delay=args.delay).start() for _ in range(args.origins)]
    try:
        urls = [f"{servers[n % args.origins].base}/ok-{n}" for n in range(args.links)]
        took, good = composer_seconds(urls)
        ideal = args.links * args.delay / IN_ALL
        sample = urls[: args.sequential]
        plain = sequential_seconds(sample) * args.links / len(sample) if sample else float("nan")
    finally:
        for server in servers:
            server.stop()
    print(f"{args.links} links over {args.origins} origins, each answer taking {args.delay * 1000:.0f} ms")
    print(f"{'':<34}{'seconds':>9}{'composer / it':>15}")
    print(f"{'composer (check --links)':<34}{took:>9.2f}{'':>15}   {good} answered 200")
    print(f"{f'ideal: {args.links} × {args.delay:g} s / {IN_ALL}':<34}{ideal:>9.2f}{took / ideal:>14.2f}×")
    scaled = "" if len(sample) == args.links else f" (of {len(sample)}, scaled)"
    print(f"{'sequential httpx HEAD loop' + scaled:<34}{plain:>9.2f}{took / plain:>14.2f}×")
    print(f"target: under 5 s: {'met' if took < 5 else 'NOT met'}")


if __name__ == "__main__":
    main()
