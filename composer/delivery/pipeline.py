"""The messages of a send in order, edition by edition, with each edition's pending rows written
just before its first message rather than everyone's before the first message of the send.

Recording 100,000 people as pending took 0.7 s before anything was sent, from a second pass over
the lists; the plan's due lists already say who is in each edition. A row that is missing reads as
pending (see `Journal.states`), so a send killed before some rows were written still sends each of
those people once, and a send that stops early writes the rows of those it did not reach.

The messages are made in this process, between the connections' turns (the engine keeps a short
queue of them ready). A forked worker making them ahead was measured on 2 cores: no faster, since
the sink and the sending process already share the cores, and 40 MB more memory for the pages
the two processes stop sharing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

from composer.delivery.engine import Delivery, Outgoing
from composer.delivery.journal import Journal
from composer.email.editions import EditionKey
from composer.errors import SendingError

if TYPE_CHECKING:
    from array import array

    from composer.delivery.context import SendContext


class Group(Protocol):
    """The readers of one edition who are due in this send, by place in the members file."""

    key: EditionKey
    due: array[int]


class Pipeline:
    """Everyone due, edition by edition: each made ready at its first reader, let go after its last."""

    def __init__(
        self,
        context: SendContext,
        groups: Sequence[Group],
        journal: Journal,
        *,
        signing_key: bytes,
        dot_stuffed: bool,
    ):
        self.context, self.groups, self.journal = context, groups, journal
        self.signing_key, self.dot_stuffed = signing_key, dot_stuffed
        self._recorded = 0  # groups whose pending rows are written

    def run(self, delivery: Delivery) -> None:
        """Deliver every message, then write the pending rows of those not reached (as the plan
        counted them); a send that stopped already says why, and a missing row reads as pending."""
        delivery.run(self.messages())
        try:
            self.record()
        except SendingError:
            if not delivery.report.stopped:
                raise

    def messages(self) -> Iterator[Outgoing]:
        context = self.context
        people, networks = context.lists.people, context.networks or None
        for number, group in enumerate(self.groups):
            self.record(number + 1)
            for index in group.due:
                recipient = context.lists.recipient(people[index], networks=networks)
                assert recipient is not None  # the lists do not change during a send
                yield context.message(
                    recipient.person.email,
                    recipient.person.name,
                    recipient.networks,
                    first_name=recipient.person.first_name,
                    edition=recipient.edition,
                    signing_key=self.signing_key,
                    dot_stuffed=self.dot_stuffed,
                )
            context.release(group.key)

    def record(self, upto: int | None = None) -> None:
        """Write the pending rows of the groups before `upto` (every group by default)."""
        end = len(self.groups) if upto is None else upto
        people, issue = self.context.lists.people, self.context.number
        while self._recorded < end:
            group = self.groups[self._recorded]
            name = self.context.name(group.key)
            self.journal.add_pending(issue, ((people[index].email, name) for index in group.due))
            self._recorded += 1
