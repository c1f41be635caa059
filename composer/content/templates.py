"""Templates: the project's own `templates/` first, file by file, then the defaults in the package.

A programme restyles one template by adding that one file; everything it has not copied keeps
coming from the installed package. Every way a template can fail (missing, unreadable, not
UTF-8, broken Jinja) becomes one ComposerError naming the file, and its line when there is one.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from composer.content.layout import TEMPLATES_DIR
from composer.errors import ComposerError, display_path

# In a checkout (an editable install, or tests) the package data are the repository's own
# top-level folders, which pyproject.toml's package-dir maps into the wheel's package.
CHECKOUT = Path(__file__).resolve().parents[2]


def packaged(folder: str, *parts: str) -> Traversable:
    """A file or folder shipped inside the package: templates/, schema/, example/ or starter/."""
    resource = files("composer") / folder
    if not resource.is_dir():
        resource = CHECKOUT if folder == "example" else CHECKOUT / folder
    for part in parts:
        resource = resource / part
    return resource


class Templates(SandboxedEnvironment):
    """A Jinja environment over `<root>/templates/<folder>`, falling back to the packaged defaults.

    Sandboxed: a programme's own template reaches what it is given and its public attributes,
    never Python's internals (`__dict__`, a function's globals), so a restyled template cannot
    print more than the values meant for every reader of the edition.
    """

    def __init__(self, root: Path, folder: str = "", **options: Any):
        self.root, self.folder = root, folder
        loader = jinja2.ChoiceLoader(
            [
                jinja2.FileSystemLoader(root / TEMPLATES_DIR / folder),
                jinja2.FileSystemLoader(str(packaged(TEMPLATES_DIR, folder))),
            ]
        )
        super().__init__(loader=loader, **options)

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        """Render a template; any failure is a ComposerError naming the template (and its line)."""
        shown = f"{TEMPLATES_DIR}/{self.folder}/{name}" if self.folder else f"{TEMPLATES_DIR}/{name}"
        try:
            return self.get_template(name).render(context)
        except jinja2.TemplateNotFound as exc:
            raise ComposerError(
                f"{TEMPLATES_DIR}/{exc.name}: no such template in {display_path(self.root / TEMPLATES_DIR)} "
                "nor among the packaged ones: check the name (`composer templates list`)"
            ) from exc
        except jinja2.TemplateSyntaxError as exc:
            where = _shown(exc.filename, self.root) if exc.filename else shown
            raise ComposerError(f"{where}:{exc.lineno}: {exc.message}") from exc
        except SecurityError as exc:
            raise ComposerError(
                f"{self._where(exc, shown)}: {(exc.message or '').rstrip('.')}: a template may use the "
                "values it is given and their public fields"
            ) from exc
        except jinja2.UndefinedError as exc:
            hint = 'what templates are given: "Templates are given nothing" in the README'
            if "EditionView" in (exc.message or ""):  # a template copied before the edition's key went
                hint += "; `edition.key` is now `edition.for_members`, and an edition has no name"
            raise ComposerError(f"{self._where(exc, shown)}: {exc.message}: {hint}") from exc
        except jinja2.TemplateError as exc:
            raise ComposerError(f"{self._where(exc, shown)}: {exc.message}") from exc
        except UnicodeDecodeError as exc:
            raise ComposerError(f"{shown}: not UTF-8 text: save it as UTF-8") from exc
        except OSError as exc:
            file = _shown(exc.filename, self.root) if exc.filename else shown
            raise ComposerError(f"{file}: cannot be read: {exc.strerror or exc}") from exc
        except ComposerError:
            raise
        except Exception as exc:  # `{{ 1 + "a" }}` in a template: named at its line, not a traceback
            where = self._where(exc, "")
            if not where:
                raise
            raise ComposerError(f"{where}: {type(exc).__name__}: {exc}") from exc

    def _where(self, exc: BaseException, shown: str) -> str:
        """The template file and line a render failed at: the innermost template in the traceback
        (an included one, say the project's own _item.txt.j2), else `shown`."""
        found = ""
        trace = exc.__traceback__
        while trace is not None:
            filename = trace.tb_frame.f_code.co_filename
            if filename.endswith(".j2"):
                found = f"{_shown(filename, self.root)}:{trace.tb_lineno}"
            trace = trace.tb_next
        return found or shown


def _shown(filename: str, root: Path) -> str:
    """A template's file as the user knows it: in the project, or one of the packaged defaults."""
    path = Path(filename)
    try:
        return f"{TEMPLATES_DIR}/{path.resolve().relative_to((root / TEMPLATES_DIR).resolve())}"
    except ValueError:
        pass
    packaged_root = Path(str(packaged(TEMPLATES_DIR))).resolve()
    try:
        return f"the packaged {TEMPLATES_DIR}/{path.resolve().relative_to(packaged_root)}"
    except ValueError:
        return display_path(path, root)


def packaged_names() -> list[str]:
    """Every packaged template, as the path to give `composer templates copy`."""
    names: list[str] = []

    def walk(folder: Traversable, prefix: str) -> None:
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
            elif entry.name.endswith(".j2"):
                names.append(prefix + entry.name)

    walk(packaged(TEMPLATES_DIR), "")
    return names


@dataclass
class CopiedTemplates:
    """What `templates copy` wrote, and what it kept because the project already had it."""

    copied: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)


def copy_templates(root: Path, names: Iterable[str] = (), *, force: bool = False) -> CopiedTemplates:
    """Copy packaged templates (default: all) into the project's templates/ to customise them.

    A template the project already has is kept unless `force`: it may hold the programme's work.
    A folder name (`preview`) copies every template in it.
    """
    available = packaged_names()
    wanted: list[str] = []
    for name in names or available:
        name = name.removeprefix(f"{TEMPLATES_DIR}/").strip("/")
        matches = [n for n in available if n == name or n.startswith(f"{name}/")]
        if not matches:
            raise ComposerError(f"no packaged template {name!r}: choose from {', '.join(available)}")
        wanted += [n for n in matches if n not in wanted]
    result = CopiedTemplates()
    for name in wanted:
        target = root / TEMPLATES_DIR / name
        _refuse_links(root, name)
        if target.exists() and not force:
            result.kept.append(target)
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            _refuse_links(root, name)  # again, now that the folders exist
            # O_NOFOLLOW: a link put there since the check is refused too, never written through.
            descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
            with (
                packaged(TEMPLATES_DIR, *name.split("/")).open("rb") as source,
                open(descriptor, "wb") as out,
            ):
                shutil.copyfileobj(source, out)
        except OSError as exc:
            raise ComposerError(f"cannot write {exc.filename or target}: {exc.strerror or exc}") from exc
        result.copied.append(target)
    return result


def _refuse_links(root: Path, name: str) -> None:
    """`templates copy` writes only regular files inside templates/: a symbolic link on the way
    (templates/ itself, a folder in it, or the file) could point anywhere, so it is refused by name."""
    parts = [TEMPLATES_DIR, *name.split("/")]
    for depth in range(1, len(parts) + 1):
        shown = "/".join(parts[:depth])
        path = root.joinpath(*parts[:depth])
        if path.is_symlink():
            raise ComposerError(
                f"{shown} is a symbolic link: composer writes templates only as files inside "
                f"{TEMPLATES_DIR}/; remove the link (rm {path}) and copy again"
            )
        if depth == len(parts) and path.exists() and not path.is_file():
            raise ComposerError(f"{shown} is not a regular file: remove it and copy again")
