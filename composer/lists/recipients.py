"""Mailing lists: the members CSV and the suppression file, read the way a spreadsheet writes them.

Excel writes UTF-8 with a BOM ("CSV UTF-8"), Windows-1252 ("CSV"), CRLF line endings and header
names in whatever case the user typed; all of that is read. Every problem keeps its line number,
and the same address on several rows becomes one person with the union of their networks.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import overload

from email_validator import EmailNotValidError

from composer.content.fields import usable_address
from composer.content.layout import NETWORKS_FILE, SETTINGS_FILE
from composer.content.model import Network
from composer.content.project import Project
from composer.errors import Findings, Problem, SendingError, ValidationFailed
from composer.lists.csvfiles import Row, read_rows

MEMBERS_FILE = "recipients/members.csv"
SUPPRESSED_FILE = "recipients/suppressed.csv"
MEMBER_COLUMNS = ("email", "first_name", "name", "organisation", "networks")
SUPPRESSED_COLUMNS = ("email", "network", "date", "reason", "issue", "detail")
ALL_NETWORKS = None
_SEPARATOR = "\x1f"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Person:
    """One member; `email` is the ASCII form that goes into the envelope and the To header."""

    email: str
    name: str
    organisation: str
    networks: frozenset[str]
    line: int
    first_name: str = ""  # for the greeting; the lists may leave it out


class People(Sequence[Person]):
    """The members in file order, each kept as one string: 100,000 people take about 15 MB.

    Person objects are made as they are read; the fields are joined by a control character,
    which `_one_line` refuses in every field, so they always split back the same.
    """

    def __init__(self) -> None:
        self._rows: list[str] = []
        self._networks: list[frozenset[str]] = []
        self._network_index: dict[frozenset[str], int] = {}

    def add(
        self, email: str, name: str, organisation: str, networks: frozenset[str], line: int, first_name: str
    ) -> None:
        """One member, packed as read: no Person is made for the 100,000 a large file holds."""
        self._rows.append(self._row(email, name, organisation, networks, line, first_name))

    def __setitem__(self, index: int, person: Person) -> None:
        self._rows[index] = self._row(
            person.email, person.name, person.organisation, person.networks, person.line, person.first_name
        )

    @overload
    def __getitem__(self, index: int) -> Person: ...

    @overload
    def __getitem__(self, index: slice) -> list[Person]: ...

    def __getitem__(self, index: int | slice) -> Person | list[Person]:
        if isinstance(index, slice):
            return [self._unpack(row) for row in self._rows[index]]
        return self._unpack(self._rows[index])

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[Person]:
        return map(self._unpack, self._rows)

    def _row(
        self, email: str, name: str, organisation: str, networks: frozenset[str], line: int, first_name: str
    ) -> str:
        number = self._network_index.get(networks)
        if number is None:
            number = self._network_index[networks] = len(self._networks)
            self._networks.append(networks)
        return _SEPARATOR.join((email, name, organisation, str(number), str(line), first_name))

    def _unpack(self, row: str) -> Person:
        email, name, organisation, number, line, first_name = row.split(_SEPARATOR)
        return Person(email, name, organisation, self._networks[int(number)], int(line), first_name)


@dataclass(frozen=True, slots=True)
class Recipient:
    """A person as they are sent to: their networks less any they have unsubscribed from."""

    person: Person
    networks: frozenset[str]

    @property
    def edition(self) -> frozenset[str]:
        """The key of the edition they receive: exactly their networks (see email/editions.py)."""
        return self.networks


@dataclass
class Lists(Findings):
    """The members and suppressions of a project, with every problem found reading them."""

    networks: dict[str, Network]
    people: People
    suppressed: dict[str, frozenset[str | None]]
    problems: list[Problem] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    _by_email: dict[str, int] | None = field(default=None, init=False, repr=False, compare=False)

    def require_valid(self) -> None:
        """Nothing is sent while the lists have errors."""
        if self.errors:
            raise ValidationFailed(self.problems)

    @property
    def nobody(self) -> Problem | None:
        """A warning for a members file with a header and nobody under it (`send` makes it an error).

        None once someone is on the lists, or while the file's errors say why nobody is.
        """
        if self.people or any(p.file == MEMBERS_FILE and p.severity == "error" for p in self.problems):
            return None
        return Problem(MEMBERS_FILE, "no members under the header: add one row per person", 1, "", "warning")

    def require_recipients(self, networks: Collection[str] = ()) -> None:
        """Nothing to send is never a success: a send to nobody stops before anything is written."""
        self.require_valid()
        if self.nobody:
            raise ValidationFailed([replace(self.nobody, severity="error")])
        if next(self.recipients(networks=networks or None), None) is None:
            scope = f" of network {', '.join(sorted(networks))}" if networks else ""
            raise SendingError(
                f"nobody to send to: no member{scope} is still subscribed "
                f"(see {MEMBERS_FILE} and {SUPPRESSED_FILE})"
            )

    def networks_of(self, person: Person) -> frozenset[str] | None:
        """The networks a person is still sent for; None when they unsubscribed from everything."""
        blocked = self.suppressed.get(person.email.lower())
        if not blocked:
            return person.networks
        if ALL_NETWORKS in blocked or (person.networks and person.networks <= blocked):
            return None
        return person.networks - blocked

    def recipients(self, *, networks: Collection[str] | None = None) -> Iterator[Recipient]:
        """Everyone who gets this issue, in file order; `networks` keeps only members of those."""
        for person in self.people:
            recipient = self.recipient(person, networks=networks)
            if recipient is not None:
                yield recipient

    def recipient(self, person: Person, *, networks: Collection[str] | None = None) -> Recipient | None:
        """The person as sent to; None if they do not get this issue (unsubscribed, or not in `networks`)."""
        if networks is not None and person.networks.isdisjoint(networks):
            return None
        effective = self.networks_of(person)
        return None if effective is None else Recipient(person, effective)

    def find(self, email: str) -> Person | None:
        """The member with this address (any case); an index made on the first call keeps a
        report naming 20,000 addresses linear in them."""
        if self._by_email is None:
            self._by_email = {}
            for index, person in enumerate(self.people):
                self._by_email.setdefault(person.email.lower(), index)
        found = self._by_email.get(email.strip().lower())
        return None if found is None else self.people[found]

    def as_dict(self) -> dict[str, object]:
        members: Counter[str] = Counter()
        receiving: Counter[str] = Counter()
        for person in self.people:
            members.update(person.networks)
            receiving.update(self.networks_of(person) or ())
        recipients = list(self.recipients())
        return {
            "ok": not self.errors,
            "people": len(self.people),
            "recipients": len(recipients),
            "editions": len({r.edition for r in recipients}),
            "networks": [
                {
                    "id": network_id,
                    "name": network.name,
                    "members": members[network_id],
                    "suppressed": members[network_id] - receiving[network_id],
                    "receiving": receiving[network_id],
                }
                for network_id, network in self.networks.items()
            ],
            "suppressions": dict(sorted(self.reasons.items())),
            "problems": [p.as_dict() for p in self.problems],
        }


def read_lists(project: Project) -> Lists:
    """Read members.csv and suppressed.csv; problems are collected, never raised."""
    problems: list[Problem] = []
    reasons: Counter[str] = Counter()
    suppressed = _read_suppressed(project, problems, reasons)
    people = _read_members(project, problems)
    return Lists(project.networks, people, suppressed, problems, reasons)


def _read_members(project: Project, problems: list[Problem]) -> People:
    """The members in file order; a repeated address is merged into its first row through a dict."""
    people = People()
    position: dict[str, int] = {}
    parsed: dict[str, tuple[frozenset[str], list[str]]] = {}
    merging: dict[int, Person] = {}  # people with more rows, merged so far: packed once at the end
    for row in read_rows(
        project.root / MEMBERS_FILE, MEMBERS_FILE, MEMBER_COLUMNS, problems, required=("email", "networks")
    ):
        email = _address(row)
        cells = row.cells
        name, organisation, first_name = cells["name"], cells["organisation"], cells["first_name"]
        clean = not _CONTROL.search(name + organisation + first_name) or _one_line(row, _TEXT_COLUMNS)
        networks = _network_ids(row, project.networks, parsed)
        if email is None or not clean or networks is None:
            continue
        key = email.lower()
        index = position.get(key)
        if index is not None:
            first = merging.get(index) or people[index]
            merged = first.networks | networks
            merging[index] = Person(
                first.email,
                first.name or name,
                first.organisation or organisation,
                merged,
                first.line,
                first.first_name or first_name,
            )
            row.report(
                f"{email} is also on line {first.line}: merged into one person with networks "
                f"{', '.join(sorted(merged)) or '(none)'}",
                "email",
                "warning",
            )
            continue
        position[key] = len(position)
        people.add(email, name, organisation, networks, row.line, first_name)
    for index, person in merging.items():
        people[index] = person
    return people


def _read_suppressed(
    project: Project, problems: list[Problem], reasons: Counter[str]
) -> dict[str, frozenset[str | None]]:
    found: dict[str, set[str | None]] = {}
    path = project.root / SUPPRESSED_FILE
    if not path.exists():
        return {}
    for row in read_rows(path, SUPPRESSED_FILE, SUPPRESSED_COLUMNS, problems, required=("email",)):
        email = _address(row)
        network = row["network"].lower() or ALL_NETWORKS
        if network is not None and network not in project.networks:
            row.report(
                f"unknown network id {network!r} (see {NETWORKS_FILE}); leave it empty for every network",
                "network",
            )
            continue
        if row["date"]:
            try:
                dt.date.fromisoformat(row["date"])
            except ValueError:
                row.report(f"{row['date']!r} is not a date like 2019-10-18", "date", "warning")
        if email is not None:
            found.setdefault(email.lower(), set()).add(network)
            reasons[row["reason"].lower() or "unsubscribed"] += 1
    return {email: frozenset(networks) for email, networks in found.items()}


def _address(row: Row) -> str | None:
    """The address in its ASCII form, or None after reporting why it cannot be used."""
    value = row["email"]
    if not value:
        row.report("no email address", "email")
        return None
    try:
        return usable_address(value)
    except EmailNotValidError as exc:
        row.report(f"{value!r} is not a usable address: {exc}", "email")
        return None


_TEXT_COLUMNS = ("name", "organisation", "first_name")


def _one_line(row: Row, columns: tuple[str, ...]) -> bool:
    """Whether each value is one line: line breaks and control characters could smuggle headers
    into a message. Each one that is not is reported."""
    broken = [column for column in columns if _CONTROL.search(row[column])]
    for column in broken:
        row.report(f"{column} contains a line break or control character: keep it on one line", column)
    return not broken


def _network_ids(
    row: Row, known: dict[str, Network], parsed: dict[str, tuple[frozenset[str], list[str]]]
) -> frozenset[str] | None:
    """The row's network ids; `parsed`: each cell's ids and unknown ones, worked out once (many
    members share a set of networks)."""
    cell = row["networks"]
    if cell not in parsed:
        found = frozenset(part.strip().lower() for part in cell.split(";") if part.strip())
        parsed[cell] = found, sorted(found - known.keys())
    ids, unknown = parsed[cell]
    for network_id in unknown:
        row.report(
            f"unknown network id {network_id!r} (see {NETWORKS_FILE}; separate ids with ';')", "networks"
        )
    return None if unknown else ids


def unfilled_greeting(project: Project, people: Sequence[Person]) -> list[Problem]:
    """A greeting field that no member has (a members.csv without `first_name`, say): everyone
    would be greeted with the fallback."""
    greeting = project.settings.greeting
    line = project.settings_lines.line_of(("greeting", "text"))
    return [
        Problem(
            SETTINGS_FILE if line else MEMBERS_FILE,
            f"the greeting uses {{{field}}} but no member in {MEMBERS_FILE} has a {field}: every "
            f"reader gets {greeting.fallback!r}; fill the {field} column (or change greeting.text)",
            line or 1,
            "greeting.text",
            "warning",
        )
        for field in greeting.fields
        if people and not any(getattr(person, field).strip() for person in people)
    ]
