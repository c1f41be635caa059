"""Benchmark: render every edition of the largest example issue, against rendering per recipient.

    .venv/bin/python bench/bench_render.py [--runs 5] [--recipients 1000] [--sample 100]

Prints the median time per edition with the share of each stage (Jinja with Markdown, MJML,
premailer with minifying), then the time for N recipients done our way (each distinct edition
rendered once, placeholders filled per person) next to the naive way (the whole pipeline once per
recipient), measured on a sample in the same run and extrapolated.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from composer.content.carry import plan_for
from composer.content.loading import load_project
from composer.content.project import Project
from composer.email.check import edition_keys
from composer.email.editions import FULL
from composer.email.inliner import compile_mjml, inline_css
from composer.email.placeholders import fill_placeholders
from composer.email.render import Renderer
from composer.lists.recipients import read_lists

REPO = Path(__file__).resolve().parent.parent
STAGES = ("Jinja", "MJML", "premailer")


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def stage_times(renderer: Renderer, plan: object, key: object) -> tuple[float, float, float]:
    """One edition through the pipeline, stage by stage, as Renderer.edition runs it."""
    start = time.perf_counter()
    context = renderer.context(plan, key)  # type: ignore[arg-type]
    source, css = renderer.mjml(context), renderer.css()
    renderer.text(context)
    templated = time.perf_counter()
    html = compile_mjml(source)
    compiled = time.perf_counter()
    inline_css(html, css)
    return templated - start, compiled - templated, time.perf_counter() - compiled


def largest_issue(project: Project, renderer: Renderer) -> int:
    sizes = {s.number: len(renderer.edition(plan_for(project, s.number), FULL).html) for s in project.issues}
    return max(sizes, key=lambda number: sizes[number])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="builds of every edition")
    parser.add_argument("--recipients", type=int, default=1000, help="recipients to compare")
    parser.add_argument("--sample", type=int, default=100, help="recipients rendered the naive way")
    args = parser.parse_args()

    project = load_project(REPO)
    cold = time.perf_counter()
    renderer = Renderer(project)
    number = largest_issue(project, renderer)
    cold = time.perf_counter() - cold
    plan = plan_for(project, number)
    keys = edition_keys(project, read_lists(project))
    full = renderer.edition(plan, FULL)

    samples = [stage_times(renderer, plan, key) for _ in range(args.runs) for key in keys]
    per_edition = statistics.median(sum(s) for s in samples)
    totals = [sum(s[i] for s in samples) for i in range(3)]
    print(
        f"Issue {number}, the largest example: full edition {len(full.html.encode()) / 1024:.1f} KB, "
        f"{len(keys)} editions, built {args.runs} times "
        f"(first render of the process: {cold * 1000:.0f} ms)"
    )
    print(f"Median per edition: {per_edition * 1000:.1f} ms")
    for index, name in enumerate(STAGES):
        median = statistics.median(s[index] for s in samples)
        print(f"  {name:<10} {median * 1000:6.2f} ms  ({totals[index] / sum(totals):.0%} of the time)")

    people = list(read_lists(project).recipients())
    recipients = list(itertools.islice(itertools.cycle(people), args.recipients))
    values = {
        "greeting": "Dear Alex,",
        "unsubscribe_url": "https://example.org/u/abc",
        "networks": "SEND",
        "token": "t",
    }
    distinct = sorted({r.edition for r in recipients}, key=lambda key: sorted(key))

    def ours() -> None:
        editions = {key: renderer.edition(plan, key) for key in distinct}
        for recipient in recipients:
            edition = editions[recipient.edition]
            fill_placeholders(edition.html, values)
            fill_placeholders(edition.text, values)

    ours_time = statistics.median(timed(ours) for _ in range(max(1, args.runs // 2)))
    sample = recipients[: args.sample]
    naive_each = statistics.median(
        timed(lambda r=r: renderer.edition(plan, r.edition))
        for r in sample  # type: ignore[misc]
    )
    naive_time = naive_each * len(recipients)
    print(
        f"\n{len(recipients):,} recipients ({len(people)} example members repeated), "
        f"{len(distinct)} editions:"
    )
    print(f"  composer: each edition rendered once, placeholders filled per person: {ours_time:.2f} s")
    print(
        f"  naive:    the whole pipeline once per recipient, {len(recipients):,} x "
        f"{naive_each * 1000:.1f} ms (median of {len(sample)} measured): {naive_time:.1f} s"
    )
    print(f"  ratio:    {naive_time / ours_time:.0f}x faster")


if __name__ == "__main__":
    main()
