"""Contact: a person on the employer side (interviewer, hiring manager)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidCommand
from domain.guards import require_past
from domain.values import ERASED_NAME, Channel, NoteKind


class Contact(Aggregate):
    # Fields of this aggregate's events that identify the person (DESIGN §8).
    PERSONAL_FIELDS = ("name", "title", "email", "linkedin_url")

    @event("Added")
    def __init__(
        self,
        name: str,
        company: str,
        title: str | None,
        email: str | None,
        linkedin_url: str | None,
        actor_id: UUID,
        correlation_id: str,
        occurred_at: datetime,
    ) -> None:
        self.name = name
        self.company = company
        self.title = title
        self.email = email
        self.linkedin_url = linkedin_url
        self.notes: list[tuple[NoteKind, Channel, datetime]] = []
        self.linkedin_connected_at: datetime | None = None
        self.erased = False

    def send_note(
        self, kind: NoteKind, channel: Channel, sent_at: datetime, *, now: datetime, actor_id: UUID, correlation_id: str
    ) -> None:
        """A stay-in-touch note: helpful information or congratulations."""
        if kind is NoteKind.THANK_YOU:
            raise InvalidCommand(
                "a thank-you note belongs to an interview: record it on the candidacy", field="kind"
            )
        require_past(sent_at, now, "sent_at")
        self._note_sent(kind, channel, sent_at, actor_id, correlation_id, sent_at)

    @event("NoteSent")
    def _note_sent(
        self,
        kind: NoteKind,
        channel: Channel,
        sent_at: datetime,
        actor_id: UUID,
        correlation_id: str,
        occurred_at: datetime,
    ) -> None:
        self.notes.append((kind, channel, sent_at))

    def connect_linkedin(self, connected_at: datetime, *, now: datetime, actor_id: UUID, correlation_id: str) -> None:
        require_past(connected_at, now, "connected_at")
        self._linkedin_connected(connected_at, actor_id, correlation_id, connected_at)

    @event("LinkedInConnected")
    def _linkedin_connected(
        self, connected_at: datetime, actor_id: UUID, correlation_id: str, occurred_at: datetime
    ) -> None:
        if self.linkedin_connected_at is None or connected_at < self.linkedin_connected_at:
            self.linkedin_connected_at = connected_at

    def erase(self, reason: str, *, now: datetime, actor_id: UUID, correlation_id: str) -> None:
        """Forget the person: the history keeps its shape (company, notes, touches), their details are gone."""
        self._erased(reason, actor_id, correlation_id, now)

    @event("Erased")
    def _erased(self, reason: str, actor_id: UUID, correlation_id: str, occurred_at: datetime) -> None:
        self.name = ERASED_NAME
        self.title = None
        self.email = None
        self.linkedin_url = None
        self.erased = True
