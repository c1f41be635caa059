"""The sent message as a receiving mail system judges it: Debian's SpamAssassin, local rules only.

`make test` installs the `spamassassin` package when it is missing (as root, with apt-get). `-L`
runs the local tests only: no DNS blocklists, no network at all. Under CI a missing SpamAssassin
fails the test rather than skip it, so that the check cannot silently stop running.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import SECRET, Cli, largest_issue

from composer.content.loading import load_project

MAX_SCORE = 0.5
SPAMASSASSIN = shutil.which("spamassassin")


@pytest.fixture
def spamassassin() -> str:
    if SPAMASSASSIN is None:
        if os.environ.get("CI") == "true":
            pytest.fail("spamassassin is not installed: `make test` installs Debian's package")
        pytest.skip("spamassassin is not installed (make test installs it)")
    return SPAMASSASSIN


def test_the_largest_message_sent_scores_at_most_half_a_point(
    example: Path, spamassassin: str, run_cli: Cli
) -> None:
    number = largest_issue(load_project(example))
    sent = run_cli(
        example, "send", str(number), "--yes", "--transport", "outbox", env={"COMPOSER_SECRET": SECRET}
    )
    assert sent.returncode == 0, sent.stdout + sent.stderr
    message = max((example / "outbox" / str(number)).glob("*.eml"), key=lambda path: path.stat().st_size)
    checked = subprocess.run(
        [spamassassin, "-L", "-t"], input=message.read_bytes(), capture_output=True, timeout=300
    )
    report = checked.stdout.decode("utf-8", "replace")
    status = re.search(
        r"^X-Spam-Status: \w+, score=(-?[\d.]+) .*?tests=([^\n]*(?:\n\s+[^\n]*)*)", report, re.M
    )
    assert status, report[-2000:]
    score = float(status[1])
    rules = [rule for rule in re.split(r"[,\s]+", status[2].split("autolearn")[0]) if rule]
    print(f"SpamAssassin on {message.name} ({message.stat().st_size} bytes): {score} points")
    for line in report[report.find("Content analysis details") :].splitlines()[2:]:
        if line.strip():
            print("  " + line)  # each rule that fired, with its points
    assert score <= MAX_SCORE, f"score {score} from {', '.join(rules)}"
