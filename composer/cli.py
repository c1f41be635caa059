"""The `composer` command: parses options, calls one core function, prints the result.

Each command imports its core lazily so `composer --help` stays fast, and every ComposerError
becomes a message and an exit code here, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from composer.errors import ComposerError, ValidationFailed
from composer.views import (
    echo_json,
    format_build,
    format_inbox,
    format_links,
    format_lists,
    format_plan,
    format_review_copies,
    format_send_plan,
    format_send_report,
    print_problems,
)

DISTRIBUTION = "update-composer"  # its name on PyPI (pyproject.toml): `composer` is taken there
F = TypeVar("F", bound=Callable[..., Any])

project_option = click.option(
    "--project",
    "-C",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="The project folder (where composer.yaml is).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


def port_option(name: str, default: int, help_text: str) -> Callable[[F], F]:
    """A TCP port to listen on (0: any free one)."""
    return click.option(
        name, default=default, show_default=True, type=click.IntRange(0, 65535), help=help_text
    )


def handle_errors(command: F) -> F:
    """The one place where our errors become output and an exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ValidationFailed as exc:
            print_problems(exc.problems)
            errors = sum(p.severity == "error" for p in exc.problems)
            click.secho(f"{errors} error(s): nothing was written or sent.", fg="red", err=True)
            sys.exit(exc.exit_code)
        except ComposerError as exc:
            click.secho(f"Error: {exc}", fg="red", err=True)
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name=DISTRIBUTION)
def main() -> None:
    """Write the weekly Update once in YAML; preview, check, build and send it."""


@main.command()
@click.argument("issue", required=False)
@project_option
@json_option
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option("--links", is_flag=True, help="Also ask every link and image of the issue whether it answers.")
@click.option("--refresh", is_flag=True, help="With --links: ask again those answered within the last day.")
@handle_errors
def check(issue: str | None, root: Path, as_json: bool, strict: bool, links: bool, refresh: bool) -> None:
    """Check ISSUE (number or path; default: the latest) and show its carry-forward plan."""
    from composer.email.check import check_issue

    if refresh and not links:
        raise ComposerError("--refresh goes with --links: it asks every link again")
    report = check_issue(root, issue, links=links, refresh=refresh)
    if as_json:
        echo_json(report.as_dict())
    else:
        print_problems(report.problems)
        click.echo(format_plan(report.plan, report.file))
        if report.links:
            click.echo(format_links(report.links))
        click.echo(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)")
    if report.errors or (strict and report.warnings):
        sys.exit(1)


@main.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--example", is_flag=True, help="Write the example programme instead of the starter.")
@handle_errors
def init(folder: Path, example: bool) -> None:
    """Start a programme in FOLDER (new or empty): settings, contacts, lists and a first issue."""
    from composer.commands.init import init_project

    for path in init_project(folder, example=example):
        click.echo(f"wrote {path}")
    click.echo(f"Next: cd {folder}, edit composer.yaml, then `composer check` and `composer preview`.")


@main.group("templates")
def templates_() -> None:
    """The packaged templates: list them, or copy some into the project to restyle them."""


@templates_.command("list")
@project_option
def templates_list(root: Path) -> None:
    """List the packaged templates; those the project has its own copy of are marked."""
    from composer.content.templates import TEMPLATES_DIR, packaged_names

    for name in packaged_names():
        mark = "  (the project's own)" if (root / TEMPLATES_DIR / name).exists() else ""
        click.echo(f"{name}{mark}")


@templates_.command("copy")
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option("--force", is_flag=True, help="Replace the project's own copies too.")
@project_option
@handle_errors
def templates_copy(names: tuple[str, ...], force: bool, root: Path) -> None:
    """Copy packaged templates (default: all; a folder name copies its templates) into templates/."""
    from composer.content.templates import copy_templates

    result = copy_templates(root, names, force=force)
    for path in result.copied:
        click.echo(f"copied {path}")
    for path in result.kept:
        click.echo(f"kept {path}: it is already there (--force replaces it)", err=True)


@main.command()
@click.option(
    "--date",
    "date",
    type=click.DateTime(["%Y-%m-%d"]),
    help="The issue's date (default: a week after the latest).",
)
@click.option(
    "--number",
    type=click.IntRange(min=1),
    help="The issue's number (default: one after the latest, or 1), e.g. 478 to start mid-stream.",
)
@project_option
@handle_errors
def new(date: dt.datetime | None, number: int | None, root: Path) -> None:
    """Write next week's issue file and list the reminders it will carry."""
    from composer.commands.new import new_issue
    from composer.content.project import load_project

    project = load_project(root)
    created = new_issue(project, date=date.date() if date else None, number=number)
    print_problems(created.warnings)
    click.echo(format_plan(created.plan, project.rel(created.path)))
    click.echo(project.rel(created.path))


@main.command()
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file instead of printing."
)
@handle_errors
def schema(out: Path | None) -> None:
    """Print the JSON Schema of issue files (editors use it to complete and check fields)."""
    from composer.content.model import issue_json_schema

    text = json.dumps(issue_json_schema(), indent=2) + "\n"
    if out:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ComposerError(f"cannot write {out}: {exc.strerror or exc}") from exc
    else:
        click.echo(text, nl=False)


@main.command()
@click.option(
    "--host",
    default=None,
    help="The address to listen on (default: loopback, this computer only; 0.0.0.0: every one).",
)
@port_option("--port", 8000, "The port (0: any free one).")
@click.option(
    "--share",
    is_flag=True,
    help="Also serve a read-only review address for colleagues (a new secret link each run).",
)
@click.option(
    "--share-host",
    default="0.0.0.0",
    show_default=True,
    help="The address the review address listens on (0.0.0.0: every address of this computer).",
)
@port_option("--share-port", 8001, "The review address's port (0: any free one).")
@project_option
@handle_errors
def preview(host: str | None, port: int, share: bool, share_host: str, share_port: int, root: Path) -> None:
    """Show the issues in a browser as each network and member receives them; reload on save."""
    from composer.web.preview.server import DEFAULT_HOST, serve

    def announce(urls: list[str]) -> None:
        click.echo("Review address for colleagues (read-only; comments and Approve; a new link each run):")
        for url in urls:
            click.echo(f"  {url}")

    serve(
        root,
        host=DEFAULT_HOST if host is None else host,
        port=port,
        on_ready=lambda url: click.echo(f"Preview at {url} (Ctrl-C to stop)"),
        share=(share_host, share_port) if share else None,
        on_share=announce,
    )


@main.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder to write (default: site/ in the project).",
)
@project_option
@handle_errors
def archive(out: Path | None, root: Path) -> None:
    """Write the web archive: a page per issue (full edition), an index, and the events' .ics files."""
    from composer.web.archive import build_archive

    result = build_archive(root, out=out)
    click.echo(
        f"{len(result.pages)} page(s) and {len(result.calendars)} calendar file(s) in {result.out} "
        f"({len(result.rendered)} written, the rest unchanged)"
    )


@main.command()
@click.argument("issue", required=False)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder to write (default: build/<issue>/ in the project).",
)
@project_option
@json_option
@handle_errors
def build(issue: str | None, out: Path | None, root: Path, as_json: bool) -> None:
    """Build every edition of ISSUE (default: the latest) as HTML and plain-text email."""
    from composer.email.build import build_issue

    result = build_issue(root, issue, out=out)
    if as_json:
        echo_json(result.as_dict())
    else:
        print_problems(result.report.problems)
        click.echo(format_build(result))
    if result.report.errors:
        sys.exit(1)


@main.command("lists")
@project_option
@json_option
@handle_errors
def lists_(root: Path, as_json: bool) -> None:
    """Show each network with its member count, and every problem in the members and suppression files."""
    from composer.lists.recipients import lists_overview

    lists = lists_overview(root)
    if as_json:
        echo_json(lists.as_dict())
    else:
        print_problems(lists.problems)
        click.echo(format_lists(lists.as_dict()))
    if lists.errors:
        sys.exit(1)


@main.command()
@click.argument("target", metavar="ADDRESS|TOKEN")
@click.option("--network", metavar="ID", help="Unsubscribe from this network only (default: from all).")
@project_option
@handle_errors
def unsubscribe(target: str, network: str | None, root: Path) -> None:
    """Add an address (or the address of an unsubscribe token) to recipients/suppressed.csv."""
    from composer.commands.unsubscribe import unsubscribe as add_suppression

    result = add_suppression(root, target, network=network)
    scope = f"network {result.network}" if result.network else "every network"
    if result.added:
        click.echo(f"{result.email} unsubscribed from {scope} ({result.file})")
    else:
        click.echo(f"{result.email} was already unsubscribed from {scope}: nothing changed")
    if not result.member:
        click.echo(f"note: {result.email} is not in the members list", err=True)


@main.command()
@click.option("--dry-run", is_flag=True, help="Change nothing: show what would be done, with the evidence.")
@click.option(
    "--from-folder",
    "folder",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Read saved .eml files from DIR instead of the mailbox (handled ones move to DIR/processed/).",
)
@project_option
@json_option
@handle_errors
def inbox(dry_run: bool, folder: Path | None, root: Path, as_json: bool) -> None:
    """Read the programme's mailbox: act on unsubscribe replies and bounces, leave the rest."""
    from composer.mailbox.inbox import read_inbox

    report = read_inbox(root, dry_run=dry_run, folder=folder)
    if as_json:
        echo_json(report.as_dict())
    else:
        click.echo(format_inbox(report))


@main.command()
@click.argument("issue", required=False)
@click.option(
    "--network",
    "networks",
    multiple=True,
    metavar="ID",
    help="Only members of this network (repeatable); with --to, the edition to send.",
)
@click.option("--to", metavar="ADDRESS", help="Send one test copy to ADDRESS; the journal is not touched.")
@click.option(
    "--review",
    is_flag=True,
    help="Send a [REVIEW] copy of every edition to review.to in composer.yaml; the journal is not touched.",
)
@click.option(
    "--edition",
    "editions",
    multiple=True,
    metavar="NAME",
    help="With --review: only this edition (repeatable; names as `send --dry-run` lists them).",
)
@click.option("--dry-run", is_flag=True, help="Send nothing: show who gets which edition, and how long.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--transport", type=click.Choice(["outbox", "smtp"]), help="Default: smtp when a host is set.")
@click.option("--rate", type=click.IntRange(min=1), metavar="PER_MINUTE", help="Messages a minute (SMTP).")
@click.option(
    "--resend-uncertain",
    is_flag=True,
    help="Send again to those a crash left uncertain (they may get a second copy).",
)
@click.option("--no-link-check", is_flag=True, help="Do not ask the issue's links first (see check --links).")
@project_option
@json_option
@handle_errors
def send(
    issue: str | None,
    networks: tuple[str, ...],
    to: str | None,
    review: bool,
    editions: tuple[str, ...],
    dry_run: bool,
    yes: bool,
    transport: str | None,
    rate: int | None,
    resend_uncertain: bool,
    no_link_check: bool,
    root: Path,
    as_json: bool,
) -> None:
    """Send ISSUE (default: the latest): a summary, a confirmation, a progress bar and a report."""
    from composer.delivery import sending

    if to and dry_run:
        raise ComposerError("--dry-run and --to cannot go together: --to sends a test copy at once")
    if review and (to or dry_run or networks):
        raise ComposerError("--review goes alone: it sends every edition (or each --edition) to review.to")
    if editions and not review:
        raise ComposerError("--edition goes with --review (for one edition to yourself: --to with --network)")
    if review:
        copies = sending.send_review(root, issue, editions=editions, transport=transport)
        if as_json:
            echo_json([copy.as_dict() for copy in copies])
        else:
            click.echo(format_review_copies(copies))
        return
    options: dict[str, Any] = {"networks": networks, "transport": transport}
    if to:
        test = sending.send_test(root, issue, to=to, **options)
        if as_json:
            echo_json(test.as_dict())
        else:
            click.echo(
                f"Test copy of Update No {test.issue} ({test.edition} edition) to {test.address} "
                f"through {test.transport}: {test.reply}"
            )
        return
    options.update(rate=rate, resend_uncertain=resend_uncertain, link_check=not no_link_check)
    if dry_run:
        plan = sending.plan_send(root, issue, **options)
        if as_json:
            echo_json(plan.as_dict())
        else:
            print_problems(plan.problems)
            click.echo(format_send_plan(plan))
        if plan.links and plan.links.errors:
            click.secho(
                f"{len(plan.links.errors)} link error(s): the send would stop (--no-link-check sends anyway)",
                fg="red",
                err=True,
            )
            sys.exit(1)
        return
    bar: dict[str, Any] = {}

    def confirm(plan: Any) -> None:
        print_problems(plan.problems)
        click.echo(format_send_plan(plan), err=as_json)
        if plan.to_send and not yes:
            click.confirm(f"Send Update No {plan.issue} to {plan.to_send} people?", abort=True, err=as_json)

    def progress(step: Any) -> None:
        if "bar" not in bar:
            bar["bar"] = click.progressbar(length=step.total, label="Sending", file=sys.stderr)
            bar["bar"].__enter__()
        bar["bar"].update(1)

    try:
        report = sending.send_issue(root, issue, confirm=confirm, progress=progress, **options)
    finally:
        if "bar" in bar:
            bar["bar"].__exit__(None, None, None)
    if as_json:
        echo_json(report.as_dict())
    else:
        click.echo(format_send_report(report))
    if not report.ok:
        sys.exit(1)
