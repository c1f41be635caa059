"""A user's mistake with templates or output folders: one line naming the file, exit 1, no traceback.

Every case runs the real command in a child process, as the user would.
"""

from __future__ import annotations

import re
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import SECRET, Cli, set_sending

MISSING_INCLUDE = '{% include "_nowhere.j2" %}\n'
ENV = {"COMPOSER_SECRET": SECRET}
NOT_UTF8 = b"\xff\xfe not UTF-8 \xe9\n"


def assert_fails_cleanly(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output
    for text in expected:
        assert text in output


@pytest.mark.parametrize(
    ("template", "command"),
    [
        ("email.mjml.j2", ["check"]),
        ("email.txt.j2", ["build"]),
        ("_item.mjml.j2", ["archive"]),
        ("archive/nav.html.j2", ["archive"]),
        ("build-index.html.j2", ["build"]),
        ("new-issue.yaml.j2", ["new"]),
        ("email.css.j2", ["send", "--dry-run"]),
    ],
)
def test_a_template_that_includes_a_missing_one_is_named(
    example: Path,
    template: str,
    command: list[str],
    run_cli: Cli,
) -> None:
    (example / "templates" / template).write_text(MISSING_INCLUDE, encoding="utf-8")
    assert_fails_cleanly(run_cli(example, *command, env=ENV), "templates/_nowhere.j2: no such template")


@pytest.mark.parametrize(
    ("template", "command"),
    [("email.txt.j2", ["build"]), ("archive/index.html.j2", ["archive"]), ("new-issue.yaml.j2", ["new"])],
)
def test_an_unreadable_template_is_named(
    example: Path, template: str, command: list[str], run_cli: Cli
) -> None:
    (example / "templates" / template).write_bytes(NOT_UTF8)
    assert_fails_cleanly(run_cli(example, *command, env=ENV), f"templates/{template}: not UTF-8")


def test_a_template_missing_from_the_project_comes_from_the_package(example: Path, run_cli: Cli) -> None:
    (example / "templates" / "email.txt.j2").unlink()
    (example / "templates" / "archive" / "nav.html.j2").unlink()
    assert run_cli(example, "build", "--out", str(example / "out"), env=ENV).returncode == 0
    assert run_cli(example, "archive", env=ENV).returncode == 0
    assert "UPDATE NO 377" in (example / "out" / "full.txt").read_text()


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("preview/index.html.j2", "templates/_nowhere.j2: no such template"),
        ("preview/base.html.j2", "templates/_nowhere.j2: no such template"),
    ],
)
def test_the_preview_shows_a_broken_page_template(
    example: Path, template: str, expected: str, run_cli: Cli
) -> None:
    (example / "templates" / template).write_text(MISSING_INCLUDE, encoding="utf-8")
    process = run_cli.start(example, "preview", "--port", "0")
    try:
        line = process.stdout.readline() if process.stdout else ""
        url = re.search(r"http://\S+/", line)
        assert url, line
        with pytest.raises(urllib.error.HTTPError) as failure:
            urllib.request.urlopen(url[0], timeout=30)
        assert failure.value.code == 500
        assert expected in failure.value.read().decode()
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=30)
    assert "Traceback" not in errors


def test_the_preview_names_an_unreadable_email_template(example: Path) -> None:
    from composer.web.preview.app import Preview

    (example / "templates" / "email.txt.j2").write_bytes(NOT_UTF8)
    app = Preview(example)
    assert b"templates/email.txt.j2: not UTF-8" in app.respond("/issue/377/").body
    frame = app.respond("/issue/377/email/full.txt")
    assert frame.status == 500 and b"templates/email.txt.j2: not UTF-8" in frame.body


@pytest.fixture
def blocker(tmp_path: Path) -> Path:
    """A file where a folder should go: no folder can be made under it, even by root."""
    path = tmp_path / "a-file"
    path.write_text("not a folder", encoding="utf-8")
    return path


def test_build_into_a_folder_that_cannot_be_written(example: Path, blocker: Path, run_cli: Cli) -> None:
    assert_fails_cleanly(
        run_cli(example, "build", "--out", str(blocker / "out"), env=ENV), f"cannot write {blocker}"
    )


def test_archive_into_a_folder_that_cannot_be_written(example: Path, blocker: Path, run_cli: Cli) -> None:
    assert_fails_cleanly(
        run_cli(example, "archive", "--out", str(blocker / "site"), env=ENV), f"cannot write {blocker}"
    )


def test_schema_into_a_file_that_cannot_be_written(blocker: Path, run_cli: Cli) -> None:
    result = run_cli(None, "schema", "--out", str(blocker / "schema.json"), env=ENV)
    assert_fails_cleanly(result, f"cannot write {blocker}")


def test_an_outbox_that_cannot_be_written(example: Path, blocker: Path, run_cli: Cli) -> None:
    set_sending(example, outbox=str(blocker / "outbox"))
    result = run_cli(example, "send", "--yes", "--transport", "outbox", env=ENV)
    assert_fails_cleanly(result, f"cannot write the outbox folder {blocker}")
    assert "Sending" not in result.stderr  # stopped before the first message
