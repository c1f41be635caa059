"""The office's own files written as they are (issue 18): suppressed.csv appended in its own
columns, delimiter and line endings; a runaway quoted field named at its line; `templates copy`
never writing through a link."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import Cli, write_members

from composer.content.loading import load_project
from composer.lists.recipients import MEMBERS_FILE, SUPPRESSED_FILE, read_lists
from composer.lists.suppressions import Suppression, add_suppressions

GRACE = "grace.whitmore@bracknell-forest.example"
OLIVER = "oliver.pratt@bracknell-forest.example"
DAY = dt.date(2019, 10, 28)


@pytest.mark.parametrize(
    ("header", "rows", "newline"),
    [
        (  # the columns reordered and renamed in case by Excel, semicolons of another locale
            "Reason;Date;Detail;EMAIL;Issue;Network",
            ["unsubscribed;2019-10-10;;ben.walsh@milton-keynes.example;375;"],
            "\r\n",
        ),
        ("email,network,date,reason,issue,detail", ["ben.walsh@milton-keynes.example,,2019-10-10,,,"], "\r"),
        ("email,network,date", ["ben.walsh@milton-keynes.example,,2019-10-10"], "\r"),  # header upgraded
        ("Email;Network;Date", ["ben.walsh@milton-keynes.example;;2019-10-10"], "\r\n"),
    ],
    ids=["reordered-semicolons-crlf", "cr-only", "old-header-cr-only", "old-header-semicolons"],
)
def test_appending_keeps_the_files_columns_delimiter_and_line_endings(
    example: Path, header: str, rows: list[str], newline: str
) -> None:
    path = example / SUPPRESSED_FILE
    path.write_bytes((newline.join([header, *rows]) + newline).encode())
    project = load_project(example)
    wanted = [
        Suppression(GRACE, None, "bounced", 376, "5.1.1"),
        Suppression(OLIVER, "send", "unsubscribed", 376),
    ]

    assert add_suppressions(project, read_lists(project), wanted, today=DAY) == wanted

    data = path.read_bytes()
    other = {"\r\n": [b"\n", b"\r"], "\r": [b"\n"], "\n": [b"\r"]}[newline]
    assert all(ending not in data.replace(newline.encode(), b"") for ending in other)
    lines = data.decode().split(newline)
    assert lines[0].startswith(header) and lines[-1] == ""
    assert len(lines) == len(rows) + 4
    lists = read_lists(load_project(example))
    assert lists.errors == [], [str(p) for p in lists.problems]
    assert lists.suppressed == {
        "ben.walsh@milton-keynes.example": frozenset({None}),
        GRACE: frozenset({None}),
        OLIVER: frozenset({"send"}),
    }
    assert lists.reasons == {"unsubscribed": 2, "bounced": 1}


def test_unsubscribe_into_a_cr_only_file_leaves_one_that_lists_reads(example: Path, run_cli: Cli) -> None:
    (example / SUPPRESSED_FILE).write_bytes(
        b"network,date,email\r,2019-10-10,ben.walsh@milton-keynes.example\r"
    )
    added = run_cli(example, "unsubscribe", GRACE)
    assert added.returncode == 0, added.stderr
    shown = run_cli(example, "lists")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "Traceback" not in shown.stdout + shown.stderr and "2 unsubscribed" in shown.stdout


def test_a_field_over_the_csv_limit_is_an_error_at_its_line(example: Path, run_cli: Cli) -> None:
    rows = [f"person{i}@bracknell-forest.example,Person {i},Council,dcs" for i in range(4_000)]
    rows[1] = 'stray@bracknell-forest.example,"Stray Quote,Council,dcs'  # line 3: opens, never closes
    write_members(example, *rows)

    problems = [str(p) for p in read_lists(load_project(example)).errors]
    assert problems == [
        f"{MEMBERS_FILE}:3: a quoted field runs on for more than 131,072 characters: "
        'is a closing " missing on this line?'
    ]
    for command in (["lists"], ["send", "--dry-run"]):
        result = run_cli(example, *command)
        assert result.returncode == 1, command
        assert "Traceback" not in result.stdout + result.stderr
        assert f"{MEMBERS_FILE}:3:" in result.stdout + result.stderr
    unsubscribed = run_cli(example, "unsubscribe", GRACE)  # writes only suppressed.csv
    assert unsubscribed.returncode == 0 and "Traceback" not in unsubscribed.stderr


@pytest.mark.parametrize("force", [False, True], ids=["dangling", "force-over-a-file"])
def test_templates_copy_refuses_a_link_in_templates_by_name(
    example: Path,
    tmp_path: Path,
    force: bool,
    run_cli: Cli,
) -> None:
    outside = tmp_path / "outside.txt"
    if force:
        outside.write_text("keep me\n")
    templates = example / "templates"
    templates.mkdir(exist_ok=True)
    (templates / "email.css.j2").unlink(missing_ok=True)
    (templates / "email.css.j2").symlink_to(outside)

    result = run_cli(example, "templates", "copy", "email.css.j2", *(["--force"] if force else []))

    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "templates/email.css.j2 is a symbolic link" in result.stderr
    assert outside.read_text() == "keep me\n" if force else not outside.exists()
