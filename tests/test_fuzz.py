"""Fuzzing `composer check` with random bytes and mutated example issues: truncated, given
aliases, nested deep, sprinkled with control characters and foreign tags. Every run, in a child
process capped in memory and time, ends in success or a clean error: never a traceback."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import REPO, Cli, copy_example
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.slow  # hypothesis runs the real command on many files

ISSUES = sorted((REPO / "issues").glob("*.yaml"))
SHARED = ["composer.yaml", "contacts.yaml", "recipients/networks.yaml"]
SNIPPETS = [
    "&a ",
    "*a",
    "&a [*a]",
    "<<: *a",
    "!!python/name:os.system ",
    "!!binary ",
    "!custom ",
    "!!int ",
    "? ",
    "---\n",
    "{",
    "[",
    '"',
    "|\n",
]
CONTROL = [chr(c) for c in [*range(0, 32), 0x7F, 0x85, 0xA0, 0x2028, 0xFEFF, 0xFFFE]]
CLEAN_END = re.compile(r"^(\d+ error\(s\)|Error: )", re.MULTILINE)


@st.composite
def mutation(draw: st.DrawFn, text: str) -> str:
    """One change to a YAML text, at a random place or in place of a random value."""
    kind = draw(st.sampled_from(["truncate", "snippet", "alias", "nest", "control", "splice"]))
    at = draw(st.integers(0, len(text)))
    if kind == "truncate":
        return text[:at]
    if kind == "snippet":
        return text[:at] + draw(st.sampled_from(SNIPPETS)) + text[at:]
    if kind == "control":
        return (
            text[:at] + "".join(draw(st.lists(st.sampled_from(CONTROL), min_size=1, max_size=3))) + text[at:]
        )
    if kind == "splice":
        return (
            text[:at] + draw(st.binary(max_size=64)).decode("latin-1") + text[at + draw(st.integers(0, 64)) :]
        )
    values = [m.end() for m in re.finditer(r": ", text)] or [len(text)]
    at = draw(st.sampled_from(values))
    if kind == "alias":
        name = draw(st.sampled_from("ab"))
        return (
            text[:at]
            + draw(st.sampled_from([f"&{name} ", f"*{name}\n#", f"&{name} [*{name}]\n#"]))
            + text[at:]
        )
    depth = draw(st.integers(1, 1500))
    if draw(st.booleans()):
        return text[:at] + "[" * depth + "x" + "]" * depth + "\n#" + text[at:]
    block = "".join("\n" + "  " * level + "-" for level in range(1, min(depth, 300) + 1))
    return text[:at] + block + "\n#" + text[at:]


@st.composite
def hostile_file(draw: st.DrawFn, source: Path) -> bytes:
    """The file unchanged, mutated a few times, or replaced by random bytes."""
    choice = draw(st.sampled_from(["same", "mutated", "mutated", "mutated", "bytes"]))
    if choice == "bytes":
        return draw(st.binary(max_size=2048))
    text = source.read_text(encoding="utf-8")
    if choice == "mutated":
        for _ in range(draw(st.integers(1, 3))):
            text = draw(mutation(text))
    return text.encode("utf-8", errors="surrogateescape")


@st.composite
def projects(draw: st.DrawFn) -> dict[str, bytes]:
    """New contents for every issue file and, one time in four, for one shared file."""
    files = {f"issues/{path.name}": draw(hostile_file(path)) for path in ISSUES}
    shared = draw(st.sampled_from([None, None, None, *SHARED]))
    if shared:
        files[shared] = draw(hostile_file(REPO / shared))
    return files


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_example(tmp_path_factory.mktemp("fuzz") / "project")


@settings(
    max_examples=20,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(files=projects())
def test_check_survives_random_and_mutated_yaml(project: Path, files: dict[str, bytes], run_cli: Cli) -> None:
    for name in SHARED:
        shutil.copy2(REPO / name, project / name)
    for name, content in files.items():
        (project / name).write_bytes(content)
    result = run_cli(project, "check", timeout=90)
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output[-3000:]
    assert result.returncode in (0, 1), output[-3000:]
    if result.returncode == 1:
        assert CLEAN_END.search(result.stderr), output[-3000:]
    else:
        assert "0 error(s)" in result.stdout
