"""What a send works from: the project checked, the lists, and each edition made ready when needed.

The check before a send covers the files and the full edition, which holds every item, reminder
and tool, so every problem that a line explains is found before anything is sent. Each other
edition is rendered, checked and encoded just before its first reader and let go after its last:
the first message leaves at once, and memory holds the editions in flight, not all of them. An
edition that fails its own check (its size, say) stops the send before anyone gets it.

Every edition but the full one shares one HTML part, rendered and encoded once with a section for
each part that not every reader gets (`Renderer.sections`): making an edition ready costs its
plain text only.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping
from dataclasses import replace
from pathlib import Path

from composer.content.project import Project
from composer.delivery.engine import Outgoing
from composer.delivery.messages import EncodedEdition, Personal, encode_edition, list_unsubscribe, message_id
from composer.delivery.tokens import make_token, unsubscribe_link
from composer.delivery.transport import Outbox, SmtpTransport, Transport
from composer.email.check import check_issue
from composer.email.editions import FULL, EditionGroups, EditionKey, select
from composer.email.emailchecks import edition_checker
from composer.email.placeholders import EDITION_PLACEHOLDERS, PLACEHOLDERS, reader_values
from composer.email.render import Edition, Renderer
from composer.email.templatecontext import edition_values
from composer.errors import ComposerError, SendingError, ValidationFailed


class SendContext:
    """Everything a send needs, checked before anything is sent."""

    def __init__(
        self,
        project: Project,
        ref: str | None,
        *,
        networks: Collection[str],
        transport: str | None,
        rate: int | None,
        env: Mapping[str, str] | None,
    ):
        self.project = project
        self.renderer = Renderer(project)
        # the files and the full edition: every problem a line explains (see the module)
        report = check_issue(self.project, ref, keys=[FULL], renderer=self.renderer)
        if report.errors:
            raise ValidationFailed(report.problems)
        self.lists = report.lists
        self.lists.require_valid()
        unknown = sorted(set(networks) - self.project.networks.keys())
        if unknown:
            raise ComposerError(f"unknown network id(s) {', '.join(unknown)}: see recipients/networks.yaml")
        self.networks = frozenset(networks)
        self.warnings = tuple(report.warnings + self.lists.problems)
        self.plan = report.plan
        self.sourced, self.full = report.issue, report.full  # what the link check asks about
        self.number = report.issue.number
        self.settings = self.project.settings
        sending = self.settings.sending.with_environment(env)
        self.sending = sending.model_copy(update={"rate_per_minute": rate}) if rate else sending
        self.env = env
        kind = transport or self.sending.transport
        if kind == "auto":
            kind = "smtp" if self.sending.smtp.host else "outbox"
        self.kind = kind
        self.outbox = self.project.root / self.sending.outbox
        self.journal_path = self.project.root / self.sending.journal
        self.named = EditionGroups(self.plan)  # which sets of networks share an edition, and its name
        self._encoded: dict[tuple[Hashable, str], EncodedEdition] = {}
        self._shared: dict[str, EncodedEdition] = {}  # the sectioned HTML part, encoded once per tag
        self.editions = report.editions  # the full one, and the document the others are cut from
        self._check = edition_checker(
            project=self.project, sourced=report.issue, plan=self.plan, reader=report.reader, scan=False
        )

    def transport(self, folder: Path) -> Transport:
        if self.kind == "outbox":
            return Outbox(folder)
        return SmtpTransport(self.sending.smtp, self.env)

    def identity(self, key: EditionKey) -> Hashable:
        """The edition a key's readers get (see `EditionGroups`)."""
        return self.named.identity(key)

    def name(self, key: EditionKey) -> str:
        return self.named.name(key)

    def encoded(self, key: EditionKey, *, tag: str = "") -> EncodedEdition:
        """The edition for `key`'s readers, made ready when first needed, its own values (the
        preheader, the archive page) filled in: each message adds only its reader's.

        The check covered the full edition; each other edition is cut from the sectioned document
        and its own problems (its size) stop the send before anyone gets it. A copy that is not
        the Update itself has a subject starting with its `tag` ([TEST], [REVIEW ...]), so that it
        is never mistaken for the real one.
        """
        content = self.identity(key)
        if (content, tag) not in self._encoded:
            if key is FULL:
                edition, sections = self.full, None
            else:
                sections = self.editions.sections
                name = self.named.first(key)
                assert name is not None  # only the full edition's key is None
                if sections:
                    edition = self.renderer.from_sections(sections, name)
                else:
                    edition = self.renderer.edition(self.plan, name)
                errors = [p for p in self._check(edition) if p.severity == "error"]
                if errors:
                    raise SendingError(
                        f"edition {edition.name} cannot be sent: {errors[0]}; nobody was sent it, and "
                        "everyone not sent to yet is kept for the next run (see `composer build`)"
                    )
            if tag:
                edition = replace(edition, subject=f"{tag} {edition.subject}")
            if sections is None:  # the full edition, or templates without sections: encoded whole
                ready = encode_edition(edition, settings=self.settings, placeholders=PLACEHOLDERS)
            else:  # the shared HTML part, with this edition's text and its own values filled in once
                values = edition_values(self.renderer.page_url, self.plan, edition.selection.view)
                shared = self._shared_part(tag, edition.subject)
                ready = shared.with_text(edition.name, edition.text, PLACEHOLDERS).filled(values)
            self._encoded[content, tag] = ready
        return self._encoded[content, tag]

    def _shared_part(self, tag: str, subject: str) -> EncodedEdition:
        """The sectioned HTML encoded once per tag (every edition has the issue's subject, with the
        tag already on it; each edition puts in its own plain text)."""
        if tag not in self._shared:
            sections = self.editions.sections
            assert sections is not None  # the editions are cut from it
            html = sections.html
            edition = Edition(FULL, "", select(self.plan, FULL), subject, "", html, "", ())
            placeholders = {**PLACEHOLDERS, **EDITION_PLACEHOLDERS}
            self._shared[tag] = encode_edition(edition, settings=self.settings, placeholders=placeholders)
        return self._shared[tag]

    def release(self, key: EditionKey) -> None:
        """Let go of an edition once nobody left in the send needs it."""
        self._encoded.pop((self.identity(key), ""), None)

    def message(
        self,
        email: str,
        name: str,
        networks: Collection[str],
        *,
        first_name: str = "",
        edition: EditionKey,
        signing_key: bytes,
        dot_stuffed: bool,
        tag: str = "",
    ) -> Outgoing:
        """One person's message: the edition's encoded bytes with their values spliced in."""
        token = make_token(email, signing_key=signing_key)
        url = self.sending.unsubscribe_url
        link = unsubscribe_link(str(url), token) if url else None
        values = reader_values(
            self.settings,
            token=token,
            unsubscribe_url=link or "",
            html=False,
            name=name,
            first_name=first_name,
            networks=[self.project.networks[n].name for n in networks],
        )
        encoded = self.encoded(edition, tag=tag)
        personal = Personal(
            email=email,
            name=name,
            message_id=message_id(issue=self.number, email=email, settings=self.settings, test=bool(tag)),
            unsubscribe=list_unsubscribe(link=link, token=token, settings=self.settings),
            values=values,
            networks=frozenset(networks),
        )
        data = encoded.personalise(personal, dot_stuffed=dot_stuffed)
        return Outgoing(email, encoded.name, personal.message_id, data)
