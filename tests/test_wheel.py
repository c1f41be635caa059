"""The wheel as a programme office installs it: built, installed outside the repository, and used.

The wheel is built offline with the declared backend (setuptools, from the test extra) and
installed without its dependencies into a fresh virtual environment in a temporary folder; the
dependencies come from this environment's site-packages (installed from constraints.txt) through
a path entry, and `pip check` proves the wheel's declared requirements accept them. Installing
them from the index instead took about two minutes here, most of it waiting on the index.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
import tomllib
import urllib.request
import zipfile
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from conftest import SECRET

from composer.cli import DISTRIBUTION
from composer.content.templates import packaged_names

pytestmark = pytest.mark.slow  # builds and installs the wheel: tens of seconds

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from the files a clone would have (tracked, or new and not ignored): a
    checkout's own build/ folder, left by an earlier build, must not fill in what is missing."""
    source, dist = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("dist")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    )
    for name in filter(None, listed.stdout.decode().split("\0")):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", dist, source],
        check=True,
        capture_output=True,
    )
    (built,) = dist.glob("update_composer-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment outside the repository with the wheel installed; its bin folder."""
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", root], check=True)
    python = root / "bin" / "python"
    subprocess.run(
        # by the distribution's name, as `pipx install update-composer` would, from the built wheel
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index"]
        + ["--find-links", wheel.parent, DISTRIBUTION],
        check=True,
        capture_output=True,
    )
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    return root / "bin"


def run(bin_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["COMPOSER_SECRET"] = SECRET
    return subprocess.run(
        [bin_dir / "composer", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output
    return result.stdout


def fetch_from_preview(bin_dir: Path, project: Path, path: str) -> str:
    process = subprocess.Popen(
        [bin_dir / "composer", "preview", "--port", "0"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        url = re.search(r"http://\S+/", line)
        assert url, line
        with urllib.request.urlopen(url[0] + path.lstrip("/"), timeout=60) as response:
            assert response.status == 200
            return response.read().decode()
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_the_wheel_holds_the_templates_schema_example_and_starter(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in packaged_names():
        assert f"composer/templates/{name}" in names
    assert {
        "composer/schema/issue.schema.json",
        "composer/example/composer.yaml",
        "composer/example/issues/377.yaml",
        "composer/example/recipients/members.csv",
        "composer/starter/composer.yaml",
        "composer/starter/issues/1.yaml",
        "composer/starter/gitignore",
    } <= names
    assert not [n for n in names if re.match(r"composer/(starter|example)/templates/", n)]
    links = [i.filename for i in zipfile.ZipFile(wheel).infolist() if stat.S_ISLNK(i.external_attr >> 16)]
    assert links == []


def test_the_wheel_holds_every_module_of_the_package(wheel: Path) -> None:
    """pyproject.toml lists the packages by name: a new folder left off it would be missing."""
    names = set(zipfile.ZipFile(wheel).namelist())
    package = REPO / "composer"
    modules = {f"composer/{path.relative_to(package).as_posix()}" for path in package.rglob("*.py")}
    assert modules - names == set()


def test_the_installed_wheel_is_what_runs(venv: Path) -> None:
    where = subprocess.run(
        [venv / "python", "-c", "import composer; print(composer.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=venv,
    ).stdout
    assert where.startswith(str(venv.parent)) and not where.startswith(str(REPO))
    checked = subprocess.run(
        [sys.executable, "-m", "pip", "--python", venv / "python", "check"], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_starter_programme_from_the_wheel(venv: Path, tmp_path: Path) -> None:
    ok(run(venv, "init", "programme", cwd=tmp_path))
    project = tmp_path / "programme"
    assert "0 error(s)" in ok(run(venv, "check", cwd=project))
    ok(run(venv, "build", cwd=project))
    assert "Welcome to the Update" in (project / "build" / "1" / "full.txt").read_text()
    dry = run(venv, "send", "--dry-run", cwd=project)  # the members list is empty: nothing to send
    assert "Traceback" not in dry.stdout + dry.stderr
    if dry.returncode == 0:
        assert "0 recipient(s)" in dry.stdout
    else:
        assert dry.returncode == 1 and "members" in dry.stdout + dry.stderr
    ok(run(venv, "archive", cwd=project))
    assert (project / "site" / "1" / "index.html").is_file()
    assert "Welcome to the Update" in fetch_from_preview(venv, project, "/issue/1/email/full.html")
    assert not (project / "templates").exists()


def test_the_example_programme_from_the_wheel(venv: Path, tmp_path: Path) -> None:
    ok(run(venv, "init", "--example", "example", cwd=tmp_path))
    project = tmp_path / "example"
    assert "0 error(s)" in ok(run(venv, "check", cwd=project))
    ok(run(venv, "build", cwd=project))
    dry = ok(run(venv, "send", "--dry-run", cwd=project))
    members = (project / "recipients" / "members.csv").read_text().splitlines()[1:]
    assert members and members[0].split(",")[0] in dry
    ok(run(venv, "archive", cwd=project))
    assert (project / "site" / "377" / "index.html").is_file()
    assert "Update No 377" in fetch_from_preview(venv, project, "/issue/377/")


def normalise(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def test_every_imported_package_is_a_declared_dependency() -> None:
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    declared = {normalise(re.split(r"[<>=!~; \[]", line, maxsplit=1)[0]) for line in dependencies}
    imported: set[str] = set()
    for path in (REPO / "composer").rglob("*.py"):
        imported |= set(re.findall(r"^(?:from|import) ([a-zA-Z_]\w*)", path.read_text(), re.M))
    third_party = imported - set(sys.stdlib_module_names) - {"composer"}
    distributions = packages_distributions()
    undeclared = {
        name for name in third_party if not {normalise(d) for d in distributions.get(name, [name])} & declared
    }
    assert not undeclared, f"imported but not declared in pyproject.toml: {sorted(undeclared)}"
