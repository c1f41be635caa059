"""Shared fixtures: a copy of the example programme in a temp folder, and a file-tree builder."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from composer.content.layout import CACHE_VARIABLE
from composer.content.project import Project

REPO = Path(__file__).resolve().parent.parent
PROJECT_PARTS = ["composer.yaml", "contacts.yaml", "issues", "recipients", "templates", "schema"]


def copy_example(dest: Path) -> Path:
    """The repo's example programme, copied so a test may edit or break it freely."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in PROJECT_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, dest / part)
        elif source.exists():
            shutil.copy2(source, dest / part)
    return dest


def state_files(project: Path) -> list[str]:
    """What composer keeps in .composer/ (journals and their companions): "the journal is
    untouched" is this list unchanged."""
    folder = project / ".composer"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture(scope="session", autouse=True)
def cache_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """composer's caches for this run (and the commands it starts), not the user's own."""
    folder = tmp_path_factory.mktemp("cache")
    saved = os.environ.get(CACHE_VARIABLE)
    os.environ[CACHE_VARIABLE] = str(folder)
    yield folder
    if saved is None:
        del os.environ[CACHE_VARIABLE]
    else:
        os.environ[CACHE_VARIABLE] = saved


def largest_issue(project: Project) -> int:
    """The example issue whose full edition is the largest: the one size and length tests use."""
    from composer.content.carry import plan_for
    from composer.email.editions import FULL
    from composer.email.render import Renderer

    renderer = Renderer(project)
    sizes = {s.number: len(renderer.edition(plan_for(project, s.number), FULL).html) for s in project.issues}
    return max(sizes, key=lambda number: sizes[number])


def _limits() -> None:
    """Caps for a child process, so a runaway input fails its test instead of the machine."""
    resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))
    resource.setrlimit(resource.RLIMIT_CPU, (60, 60))


class Cli:
    """`python -m composer` in a child process (2 GB, 60 s of CPU), as a user runs it.

    The one way tests start the command: `project` adds `--project`, `env` adds to this process's
    environment (or is the whole of it with `inherit=False`), and no run may print a traceback.
    """

    def _command(self, project: Path | None, args: tuple[str, ...]) -> list[str]:
        where = ["--project", str(project)] if project is not None else []
        end = args.index("--") if "--" in args else len(args)  # options go before a `--`
        return [sys.executable, "-m", "composer", *args[:end], *where, *args[end:]]

    @staticmethod
    def _environment(env: dict[str, str] | None, inherit: bool) -> dict[str, str]:
        base = (
            dict(os.environ)
            if inherit
            else {"PATH": os.environ["PATH"], CACHE_VARIABLE: os.environ[CACHE_VARIABLE]}
        )
        return {**base, **(env or {})}

    def __call__(
        self,
        project: Path | None,
        *args: str,
        env: dict[str, str] | None = None,
        inherit: bool = True,
        cwd: Path | None = None,
        input: str | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self._command(project, args),
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            env=self._environment(env, inherit),
            cwd=cwd,
            input=input,
            preexec_fn=_limits,
        )
        assert "Traceback" not in result.stdout + result.stderr, result.stderr
        return result

    def start(self, project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """The command left running, for tests that stop it midway."""
        return subprocess.Popen(
            self._command(project, args),
            env=self._environment(env, True),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def invoke(project: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """The command in this process (click's runner): for tests of what it prints, without the
    second it takes to start Python; an exception that escapes the command fails the test."""
    from composer.cli import main

    result = CliRunner().invoke(main, [*args, "--project", str(project)], env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.fixture(scope="session")
def run_cli() -> Cli:
    """The real command in a child process; a test that uses it is marked `cli`."""
    return Cli()


# Markers by what a test talks to, so that `make test-fast` runs the in-process ones alone:
# a fixture's name decides, and a module may mark itself `slow`.
MARKERS = {
    "cli": {"run_cli"},
    "browser": {"browser"},
    "server": {
        "smtp_server",
        "dovecot",
        "spamassassin",
        "server",
        "own_server",
        "shared",
        "servers",
        "running",
    },
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        kinds = [kind for kind, names in MARKERS.items() if fixtures & names]
        for kind in kinds:
            item.add_marker(kind)
        marked = any(item.get_closest_marker(kind) for kind in (*MARKERS, "slow"))
        if not kinds and not marked:
            item.add_marker("unit")


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "project")


@pytest.fixture
def write(example: Path) -> Callable[[str, str], Path]:
    """Write a file (dedented) into the example project; returns its path."""

    def writer(relative: str, text: str) -> Path:
        path = example / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return writer


CHROMIUM = Path("/usr/bin/chromium")
# CI must run the browser tests: there a missing browser fails the run instead of skipping them.
BROWSER_REQUIRED = os.environ.get("CI", "").lower() == "true"
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    """Debian's chromium, headless, through playwright (no browser is downloaded)."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"CI=true and {CHROMIUM} is missing: install Debian's chromium", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


SECRET = "test-secret-for-unsubscribe-tokens"


@pytest.fixture
def smtp_server():  # type: ignore[no-untyped-def]
    """A real aiosmtpd server on 127.0.0.1 (port 0) recording what it accepts; faults via .recorder."""
    from smtp_server import Recorder, SmtpServer

    server = SmtpServer(Recorder()).start()
    yield server
    server.stop()


def set_sending(project: Path, **fields: object) -> None:
    """Change composer.yaml's `sending` block in a test project (retries, rates, smtp...)."""
    import yaml

    path = project / "composer.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key, value in fields.items():
        if isinstance(value, dict):
            data["sending"].setdefault(key, {}).update(value)
        else:
            data["sending"][key] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.fixture
def send_env(smtp_server) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The environment of a send to the test server: plain text to loopback, the token secret."""
    return {
        "COMPOSER_SECRET": SECRET,
        "COMPOSER_SMTP_HOST": "127.0.0.1",
        "COMPOSER_SMTP_PORT": str(smtp_server.port),
        "COMPOSER_SMTP_SECURITY": "none",
    }


@pytest.fixture
def fast(example: Path) -> Path:
    """The example project with a high rate and near-instant retries, for tests that send."""
    set_sending(example, rate_per_minute=600_000, retry_delay=0.01, smtp={"connections": 4, "timeout": 5})
    return example


def write_members(
    project: Path,
    *rows: str,
    header: str = "email,name,organisation,networks",
    newline: str = "\n",
    encoding: str = "utf-8",
) -> None:
    """Replace the project's members.csv with these rows (one string per line, as in the file)."""
    text = newline.join([header, *rows]) + newline
    (project / "recipients" / "members.csv").write_bytes(text.encode(encoding))
