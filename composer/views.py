"""How results look in a terminal: the tables, plans and reports that the commands print.

Kept apart from cli.py so the commands stay one core call each, and the wording of every report
lives in one place.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from composer.content.carry import long_date
from composer.errors import Problem

MAX_PROBLEMS_PER_FILE = 20


def print_problems(problems: list[Problem]) -> None:
    """Every problem, up to MAX_PROBLEMS_PER_FILE per file: a broken file must not bury the rest.

    Errors come first, so that the cap never hides an error (a dead link) behind warnings.
    """
    per_file: dict[str, int] = {}
    for problem in sorted(problems, key=lambda problem: problem.severity != "error"):
        per_file[problem.file] = per_file.get(problem.file, 0) + 1
        if per_file[problem.file] <= MAX_PROBLEMS_PER_FILE:
            colour = "red" if problem.severity == "error" else "yellow"
            click.secho(str(problem), fg=colour, err=True)
    for file, count in per_file.items():
        if count > MAX_PROBLEMS_PER_FILE:
            click.secho(f"{file}: and {count - MAX_PROBLEMS_PER_FILE} more problem(s)", fg="red", err=True)


def echo_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def show(
    data: Callable[[], object], text: Callable[[], str], *, as_json: bool, problems: Sequence[Problem] = ()
) -> None:
    """A command's result: as JSON (problems included in it), or its problems and then its text;
    only the one asked for is made."""
    if as_json:
        echo_json(data())
        return
    print_problems(list(problems))
    click.echo(text())


def format_plan(plan: Any, file: str) -> str:
    issue = plan.issue
    lines = [f"Update No {issue.number} · {long_date(issue.date)}  ({file})"]
    lines.append(f"This week's items ({len(plan.items)}):")
    lines += [f"  {item.id}: {item.title}" for item in plan.items]
    lines.append(f"Reminders from previous weeks ({len(plan.reminders)}):")
    for r in plan.reminders:
        lines.append(f"  {r.item.id}: {r.item.title}")
        lines.append(f"      {r.describe()}")
    lines.append(f"Tools & Templates ({len(plan.tools)}):")
    lines += [f"  {t.tool.title} (added in issue {t.issue})" for t in plan.tools]
    return "\n".join(lines)


def format_check(report: Any) -> str:
    """The plan, the links' answers when asked, and the counts (the problems are printed first)."""
    lines = [format_plan(report.plan, report.file)]
    if report.links:
        lines.append(format_links(report.links))
    lines.append(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)")
    return "\n".join(lines)


def format_build(result: Any) -> str:
    """The build as a table: one row per edition, sizes in KB, marked against Gmail's limits."""
    marks = {"error": "  ERROR: Gmail clips at 102 KB", "warning": "  warning: over 80 KB", "": ""}
    # "items" counts this week's items as `check` and the preview do; reminders have their own column
    rows = [("edition", "items", "reminders", "HTML", "text", "")]
    rows += [
        (
            e.name,
            str(len(e.items)),
            str(len(e.reminders)),
            f"{e.html_bytes / 1024:.1f} KB",
            f"{e.text_bytes / 1024:.1f} KB",
            marks[e.level] + (f"  (+{len(e.serves) - 1} network set(s))" if len(e.serves) > 1 else ""),
        )
        for e in result.editions
    ]
    width = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = [
        "  ".join([r[0].ljust(width[0]), *(cell.rjust(w) for cell, w in zip(r[1:5], width[1:], strict=True))])
        + r[5]
        for r in rows
    ]
    lines.append(
        f"{len(result.editions)} edition(s) in {result.out}: "
        f"{len(result.report.errors)} error(s), {len(result.report.warnings)} warning(s)"
    )
    return "\n".join(lines)


def format_lists(data: dict[str, Any]) -> str:
    width = max([len(n["id"]) for n in data["networks"]] + [7])
    lines = [f"{'network'.ljust(width)}  members  unsubscribed  receiving  name"]
    lines += [
        f"{n['id'].ljust(width)}  {n['members']:7}  {n['suppressed']:12}  {n['receiving']:9}  {n['name']}"
        for n in data["networks"]
    ]
    if data["suppressions"]:
        reasons = ", ".join(f"{count} {reason}" for reason, count in data["suppressions"].items())
        lines.append(f"Suppressions (recipients/suppressed.csv): {reasons}")
    errors = sum(p["severity"] == "error" for p in data["problems"])
    lines.append(
        f"{data['people']} people, {data['recipients']} receiving the Update in {data['editions']} "
        f"edition(s); {errors} error(s), {len(data['problems']) - errors} warning(s)"
    )
    return "\n".join(lines)


def format_links(report: Any) -> str:
    """One line: how many links, how many asked or answered from the cache, what was left alone."""
    skipped = list(report.skipped.values())
    left = []
    if skipped.count("unsubscribe"):
        left.append(f"{skipped.count('unsubscribe')} unsubscribe link(s)")
    if skipped.count("reserved"):
        left.append(f"{skipped.count('reserved')} on example domains")
    return (
        f"Links: {len(report.results)} checked in {report.seconds:.1f} s ({report.asked} asked, "
        f"{len(report.results) - report.asked} answered within the last day), "
        f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)"
        + (f"; never asked: {', '.join(left)}" if left else "")
    )


def format_duration(seconds: float) -> str:
    minutes = max(1, int(-(-seconds // 60)))
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def format_send_plan(plan: Any) -> str:
    lines = [
        f"Update No {plan.issue}: {plan.recipients} recipient(s) in {len(plan.editions)} edition(s), "
        f"through {plan.transport}"
    ]
    width = max([len(e.name) for e in plan.editions] + [7])
    for edition in plan.editions:
        sample = ", ".join(edition.sample) + (", ..." if edition.recipients > len(edition.sample) else "")
        more = len(edition.serves) - 1
        shared = f" (also for {more} more network set(s))" if more > 0 else ""
        lines.append(f"  {edition.name.ljust(width)}  {edition.recipients:5}  {sample}{shared}")
    lines.append(
        f"Already sent: {plan.already_sent}. Failed before (not retried): "
        f"{len(plan.failed_before)}. Uncertain after a crash (held): {len(plan.uncertain)}."
    )
    if plan.links:
        lines.append(format_links(plan.links))
    if plan.unresolved_comments:
        lines.append(
            f"Note: {plan.unresolved_comments} reviewer comment(s) not marked resolved "
            "(see the issue's page in `composer preview`); they do not stop the send."
        )
    if plan.rate_per_minute:
        took = f"about {format_duration(plan.estimate_seconds)} at {plan.rate_per_minute} a minute"
        if plan.days > 1:
            took += f", over {plan.days} days at {plan.rate_per_day} a day"
        lines.append(f"To send: {plan.to_send}, {took}.")
    else:
        lines.append(f"To send: {plan.to_send}.")
    return "\n".join(lines)


def format_review_copies(copies: list[Any]) -> str:
    return "\n".join(
        f"Review copy of Update No {c.issue} ({c.edition} edition) to {c.address} "
        f"through {c.transport}: {c.reply}"
        for c in copies
    )


def format_test_copy(copy: Any) -> str:
    return (
        f"Test copy of Update No {copy.issue} ({copy.edition} edition) to {copy.address} "
        f"through {copy.transport}: {copy.reply}"
    )


def format_send_report(report: Any) -> str:
    lines = [
        f"Sent {report.sent}; already sent before {report.plan.already_sent}; deferred "
        f"{len(report.deferred)}; failed {len(report.failed) + len(report.plan.failed_before)}; "
        f"uncertain {len(report.uncertain) + len(report.plan.uncertain)}; "
        f"not attempted {report.not_attempted}."
    ]
    sections = [
        ("Deferred (a temporary failure; the next run tries again):", report.deferred),
        ("Failed (refused by the server; never retried):", [*report.failed, *report.plan.failed_before]),
        (
            "Uncertain (the message went out but the server never answered: it may have arrived; "
            "held, send again with --resend-uncertain if they did not receive it):",
            report.uncertain,
        ),
    ]
    for title, outcomes in sections:
        if outcomes:
            lines.append(title)
            lines += [f"  {o.email}: {o.reply}" for o in outcomes]
    if report.plan.uncertain:
        lines.append(
            "Uncertain (a crash happened while sending to them; held, "
            "send again with --resend-uncertain if they did not receive it):"
        )
        lines += [f"  {email}" for email in report.plan.uncertain]
    if report.stopped:
        lines.append(f"Stopped: {report.stopped}")
    return "\n".join(lines)


def format_inbox(report: Any) -> str:
    """One block per message acted on or left, then the counts and what the office should look at;
    a dry run says so first."""
    verb = "Would do" if report.dry_run else "Done"
    lines = [f"{'Dry run: nothing is changed. ' if report.dry_run else ''}Reading {report.source}"]
    for action in report.actions:
        lines.append(
            f"  {action.kind}: {action.subject or '(no subject)'}  [{action.sender}, {action.handle}]"
        )
        lines.append(f"      {action.summary}")
        if action.evidence:
            lines.append(f"      evidence: {action.evidence}")
        for s in action.suppressed:
            scope = f"network {s.network}" if s.network else "every network"
            detail = f" ({s.detail})" if s.detail else ""
            lines.append(f"      {verb}: suppress {s.email} from {scope} as {s.reason}{detail}")
        for email, issue in action.counted:
            lines.append(f"      {verb}: count a soft bounce for {email} (Update No {issue})")
        for email in action.review:
            lines.append(f"      Review: the report returns {email}'s Update; nobody suppressed")
    counts = ", ".join(f"{n} {kind}" for kind, n in report.counts.items())
    lines.append(f"{counts}; {report.already_seen} already handled in an earlier run.")
    replies = report.counts["reply"]
    if replies:
        lines.append(
            f"{replies} {'reply' if replies == 1 else 'replies'} for a person to read, left in the mailbox."
        )
    unreadable = [f"{a.handle} ({a.summary})" for a in report.actions if a.kind == "unreadable"]
    if unreadable:
        lines.append(f"Unreadable, left in place: {', '.join(unreadable)}")
    if report.skipped:
        skipped = ", ".join(f"{name} ({why})" for name, why in report.skipped)
        lines.append(f"Skipped, not regular files: {skipped}")
    return "\n".join(lines)


class SendScreen:
    """What `composer send` shows while it runs: the summary and its question, then a progress bar
    (on stderr, so that `--json` keeps stdout for the report)."""

    def __init__(self, *, yes: bool, as_json: bool):
        self.yes, self.as_json = yes, as_json
        self._bar: Any = None

    def confirm(self, plan: Any) -> None:
        """Show the summary and ask; a "no" aborts before anything is sent."""
        print_problems(plan.problems)
        click.echo(format_send_plan(plan), err=self.as_json)
        if plan.to_send and not self.yes:
            click.confirm(
                f"Send Update No {plan.issue} to {plan.to_send} people?", abort=True, err=self.as_json
            )

    def progress(self, step: Any) -> None:
        if self._bar is None:
            self._bar = click.progressbar(length=step.total, label="Sending", file=sys.stderr)
            self._bar.__enter__()
        self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
