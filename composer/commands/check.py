"""`composer check`: every problem of an issue, and what it will carry forward."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from composer.email.check import CheckReport, check_issue
from composer.email.links import check_links
from composer.workspace import Workspace


def check(root: Path, ref: str | None = None, *, links: bool = False, refresh: bool = False) -> CheckReport:
    """Check the shared files and the issue (default: the latest) with the issues before it.

    `links`: also ask every link's server (see composer/email/links.py); `refresh`: ask even
    those whose answer is still in the cache.
    """
    workspace = Workspace(root)
    project = workspace.project
    # the lists are read by the check itself, once the issue's own errors have not stopped it
    report = check_issue(project, ref, renderer=workspace.renderer)
    if not links:
        return report
    found = check_links(project, report.issue, report.plan, report.full, refresh=refresh)
    return replace(report, problems=report.problems + found.problems, links=found)
