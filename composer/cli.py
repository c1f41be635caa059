"""The `composer` command: parses options, calls one core function, prints the result.

Each command imports its core lazily so `composer --help` stays fast, and every ComposerError
becomes a message and an exit code here, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from composer.errors import ComposerError, ValidationFailed
from composer.views import (
    SendScreen,
    format_build,
    format_check,
    format_inbox,
    format_lists,
    format_plan,
    format_review_copies,
    format_send_plan,
    format_send_report,
    format_test_copy,
    print_problems,
    show,
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
            click.secho(f"{len(exc.errors)} error(s): nothing was written or sent.", fg="red", err=True)
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
    from composer.commands import check as command

    if refresh and not links:
        raise ComposerError("--refresh goes with --links: it asks every link again")
    report = command.check(root, issue, links=links, refresh=refresh)
    show(report.as_dict, lambda: format_check(report), as_json=as_json, problems=report.problems)
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
    from composer.commands import templates as command

    for name, own in command.listed(root):
        click.echo(name + ("  (the project's own)" if own else ""))


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
    from composer.commands import new as command

    created = command.new(root, date=date.date() if date else None, number=number)
    print_problems(created.warnings)
    click.echo(format_plan(created.plan, created.file))
    click.echo(created.file)


@main.command()
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file instead of printing."
)
@handle_errors
def schema(out: Path | None) -> None:
    """Print the JSON Schema of issue files (editors use it to complete and check fields)."""
    from composer.commands import schema as command

    text = command.schema(out)
    if out is None:
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
    from composer.commands import archive as command

    result = command.archive(root, out=out)
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
    from composer.commands import build as command

    result = command.build(root, issue, out=out)
    show(result.as_dict, lambda: format_build(result), as_json=as_json, problems=result.report.problems)
    if result.report.errors:
        sys.exit(1)


@main.command("lists")
@project_option
@json_option
@handle_errors
def lists_(root: Path, as_json: bool) -> None:
    """Show each network with its member count, and every problem in the members and suppression files."""
    from composer.commands import lists as command

    lists = command.lists(root)
    show(lists.as_dict, lambda: format_lists(lists.as_dict()), as_json=as_json, problems=lists.problems)
    if lists.errors:
        sys.exit(1)


@main.command()
@click.argument("target", metavar="ADDRESS|TOKEN")
@click.option("--network", metavar="ID", help="Unsubscribe from this network only (default: from all).")
@project_option
@handle_errors
def unsubscribe(target: str, network: str | None, root: Path) -> None:
    """Add an address (or the address of an unsubscribe token) to recipients/suppressed.csv."""
    from composer.commands import unsubscribe as command

    result = command.unsubscribe(root, target, network=network)
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
    from composer.commands import inbox as command

    report = command.inbox(root, dry_run=dry_run, folder=folder)
    show(report.as_dict, lambda: format_inbox(report), as_json=as_json)


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
    from composer.commands import send as command

    command.check_options(to=to, review=review, editions=editions, dry_run=dry_run, networks=networks)
    if review:
        copies = command.review(root, issue, editions=editions, transport=transport)
        show(
            lambda: [copy.as_dict() for copy in copies], lambda: format_review_copies(copies), as_json=as_json
        )
        return
    options: dict[str, Any] = {"networks": networks, "transport": transport}
    if to:
        test = command.copy_to(root, issue, to=to, **options)
        show(test.as_dict, lambda: format_test_copy(test), as_json=as_json)
        return
    options.update(rate=rate, resend_uncertain=resend_uncertain, link_check=not no_link_check)
    if dry_run:
        plan = command.dry_run(root, issue, **options)
        show(plan.as_dict, lambda: format_send_plan(plan), as_json=as_json, problems=plan.problems)
        if plan.links and plan.links.errors:
            click.secho(
                f"{len(plan.links.errors)} link error(s): the send would stop (--no-link-check sends anyway)",
                fg="red",
                err=True,
            )
            sys.exit(1)
        return
    screen = SendScreen(yes=yes, as_json=as_json)
    try:
        report = command.send(root, issue, confirm=screen.confirm, progress=screen.progress, **options)
    finally:
        screen.close()
    show(report.as_dict, lambda: format_send_report(report), as_json=as_json)
    if not report.ok:
        sys.exit(1)
