"""CSV files as Excel writes and reads them: encodings, delimiters, formulas, rows with their lines.

Members and suppressions are kept in spreadsheets by the office, so every quirk of Excel's CSV is
handled here once: a BOM, Windows-1252, `;` in some locales, and cells that look like formulas.
"""

from __future__ import annotations

import _csv
import codecs
import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from composer.content.layout import write_atomically
from composer.errors import ComposerError, Problem, Severity

_FORMULA = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet takes for the start of a formula


class Row:
    """One data row of a CSV file: its cells by column name (stripped, formula quotes taken off),
    and where to report. A plain class: 100,000 of them are made for a large members file."""

    __slots__ = ("cells", "file", "line", "problems")

    def __init__(self, file: str, line: int, cells: dict[str, str], problems: list[Problem]):
        self.file, self.line, self.cells, self.problems = file, line, cells, problems

    def __getitem__(self, column: str) -> str:
        return self.cells[column]

    def report(self, message: str, column: str, severity: Severity = "error") -> None:
        self.problems.append(Problem(self.file, message, self.line, column, severity))


def append_rows(path: Path, header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> None:
    """Append ASCII rows (values in `header`'s order) as the file is written: its own column
    order and delimiter, its line endings (CRLF, LF, or Excel for Mac's CR), read once however
    many rows; a new file gets `header`. ASCII is valid in UTF-8 and cp1252 alike.

    A file whose header lacks some of `header`'s columns (one from an older composer) gains them
    at its end: then it is written whole beside itself and renamed into place, never half-written.
    """
    existing = path.read_bytes() if path.exists() else b""
    newline, separator, names = layout(existing)
    missing = [column for column in header if column not in names] if existing.strip() else []
    text = io.StringIO()
    if not existing.strip():
        names = list(header)
        text.write(separator.join(header) + newline)
    elif not existing.endswith((b"\n", b"\r")):
        text.write(newline)
    writer = csv.writer(text, delimiter=separator, lineterminator=newline)
    for values in rows:
        cells = dict(zip(header, values, strict=True))
        writer.writerow([_neutralised(cells.get(name, "")) for name in [*names, *missing]])
    added = text.getvalue().encode("ascii")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if missing:
            write_atomically(path, _with_columns(existing, newline, separator, missing) + added)
        else:
            with path.open("ab") as stream:
                stream.write(added)
    except OSError as exc:
        raise ComposerError(f"cannot write {path}: {exc.strerror or exc}") from None


def _with_columns(data: bytes, newline: str, separator: str, columns: list[str]) -> bytes:
    """The file's bytes with `columns` added at the end of its header line."""
    end = data.find(newline.encode())
    first, rest = (data, b"") if end < 0 else (data[:end], data[end:])
    return first + (separator + separator.join(columns)).encode("ascii") + rest


def layout(data: bytes) -> tuple[str, str, list[str]]:
    """A CSV file's line ending (the first one in it; LF for none), delimiter, and header names
    (stripped, lower-cased, in the file's order)."""
    ends = [i for i in (data.find(b"\r"), data.find(b"\n")) if i >= 0]
    end = min(ends, default=len(data))
    newline = "\n" if end == len(data) or data[end : end + 1] == b"\n" else "\r"
    if data[end : end + 2] == b"\r\n":
        newline = "\r\n"
    try:
        first = data[:end].decode("utf-8-sig")
    except UnicodeDecodeError:
        first = data[:end].decode("cp1252", "replace")
    separator = delimiter(first)
    names = [name.strip().lower() for name in next(csv.reader([first], delimiter=separator), [])]
    return newline, separator, names


def _neutralised(cell: str) -> str:
    """A cell that Excel shows as text, never runs as a formula: OWASP's leading quote.

    Cells that already start with quotes before a formula character get one more, so that
    `_restored` gives every cell back exactly as it was.
    """
    return "'" + cell if cell.lstrip("'").startswith(_FORMULA) else cell


def _restored(cell: str) -> str:
    """A cell as it was before `_neutralised`."""
    return cell[1:] if cell[:1] == "'" and cell.lstrip("'").startswith(_FORMULA) else cell


def read_rows(
    path: Path, file: str, columns: tuple[str, ...], problems: list[Problem], *, required: tuple[str, ...]
) -> Iterator[Row]:
    """Each data row, streamed; header names in any case and order, line numbers as in the file."""
    if not path.exists():
        problems.append(Problem(file, f"missing: create it with the header {','.join(columns)}"))
        return
    encoding = _encoding(path, file, problems)
    if encoding is None:
        return
    if encoding != "utf-8-sig":
        problems.append(
            Problem(
                file,
                "not UTF-8, read as Windows-1252: in Excel, save it as 'CSV UTF-8 (Comma delimited)'",
                None,
                "",
                "warning",
            )
        )
    with path.open(encoding=encoding, newline="") as stream:
        reader = csv.reader(stream, dialect=_dialect(stream))
        rows = _guarded(reader, file, problems)
        header = [name.strip().lower() for name in next(rows, [])]
        missing = [name for name in required if name not in header]
        if missing:
            problems.append(
                Problem(
                    file, f"the header has no {', '.join(missing)} column (expected: {','.join(columns)})", 1
                )
            )
            return
        position = {name: header.index(name) for name in columns if name in header}
        start = reader.line_num + 1
        absent = {name: "" for name in columns if name not in position}
        for cells in rows:
            line, start = start, reader.line_num + 1
            joined = "".join(cells)
            if not joined.strip():
                problems.append(Problem(file, "empty row: ignored", line, "", "warning"))
            elif len(cells) > len(header) and "".join(cells[len(header) :]).strip():
                problems.append(
                    Problem(
                        file,
                        f"{len(cells)} fields but the header has {len(header)}: "
                        "is there an unquoted comma in a name?",
                        line,
                    )
                )
            else:
                count = len(cells)
                values = {name: cells[i].strip() if i < count else "" for name, i in position.items()}
                if "'" in joined:  # a cell may carry a formula's quote (see _neutralised)
                    values = {name: _restored(value) for name, value in values.items()}
                if absent:
                    values.update(absent)
                yield Row(file, line, values, problems)


def _guarded(reader: _csv.Reader, file: str, problems: list[Problem]) -> Iterator[list[str]]:
    """The reader's rows until one cannot be read: a field over the csv module's limit (a quote
    that opens a field and never closes swallows the rows after it) is an error at the line where
    that row starts, and the file is read no further. The limit (128 KB) is far above what an
    address or a list of networks needs, so it is kept, not raised."""
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                message = (
                    f"a quoted field runs on for more than {csv.field_size_limit():,} characters: "
                    'is a closing " missing on this line?'
                )
            else:
                message = f"cannot be read as CSV: {exc}"
            problems.append(Problem(file, message, start))
            return
        yield cells


def _encoding(path: Path, file: str, problems: list[Problem]) -> str | None:
    """UTF-8 (with or without BOM) when the bytes decode as such, else Excel's Windows-1252.

    A BOM settles it: the file claims UTF-8, so a byte that is not is an error at its line, never
    a reason to read the file (and the BOM glued onto the first column) as Windows-1252.
    None, after reporting the line, when the bytes cannot be read (cp1252 leaves five undefined).
    """
    bad = _undecodable(path, "utf-8")
    if bad is None:
        return "utf-8-sig"
    with path.open("rb") as stream:
        marked = stream.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8
    if not marked:
        bad = _undecodable(path, "cp1252")
        if bad is None:
            return "cp1252"
    line, byte = bad
    problems.append(
        Problem(
            file,
            f"byte 0x{byte:02X} is not UTF-8, though the file starts with UTF-8's byte order mark: "
            "save the file as UTF-8 (in Excel: 'CSV UTF-8 (Comma delimited)')"
            if marked
            else f"byte 0x{byte:02X} is neither UTF-8 nor Windows-1252: "
            "in Excel, save the file as 'CSV UTF-8 (Comma delimited)'",
            line,
        )
    )
    return None


def _undecodable(path: Path, encoding: str) -> tuple[int, int] | None:
    """The line and value of the first byte that does not decode, read in chunks; None if all do."""
    decoder = codecs.getincrementaldecoder(encoding)()
    lines = 1
    with path.open("rb") as stream:
        while True:
            chunk = stream.read(1 << 20)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                return lines + exc.object[: exc.start].count(b"\n"), exc.object[exc.start]
            if not chunk:
                return None
            lines += chunk.count(b"\n")


def delimiter(header: str) -> str:
    """Comma by default; a header with only semicolons or tabs is Excel in another locale."""
    if "," not in header:
        for candidate in (";", "\t"):
            if candidate in header:
                return candidate
    return ","


def _dialect(stream: TextIO) -> type[csv.Dialect]:
    first = stream.readline()
    stream.seek(0)
    separator = delimiter(first)
    return csv.excel if separator == "," else type("Excel", (csv.excel,), {"delimiter": separator})
