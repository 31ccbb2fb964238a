"""Replays the event log into memory, page by page: each candidacy's facts and each contact's aggregates, as known at a moment."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.utils import get_topic

from domain.application import FollowupApplication
from domain.candidacy import Candidacy
from domain.candidate import Candidate
from domain.contact import Contact
from domain.recruiter import Recruiter
from domain.values import ERASED_NAME, CandidacyFacts, ContactFacts
from projections.follow_up_queue import apply_candidacy_event

PAGE_SIZE = 1000
# The recorded timestamp is taken when an event is created, a moment before it is
# appended, so positions and timestamps agree only roughly: past known_at, the replay
# reads on for this long before concluding that nothing it knew of at known_at is left.
STOP_MARGIN = timedelta(minutes=5)

# The events the fold reads; the others are skipped without being decoded.
FOLD_TOPICS = tuple(
    get_topic(event_class)
    for event_class in (
        Recruiter.Added, Candidate.Registered, Contact.Added, Contact.NoteSent, Contact.LinkedInConnected,
        Candidacy.Opened, Candidacy.Interview, Candidacy.DeadlineStated, Candidacy.NoteSent,
        Candidacy.CheckInSent, Candidacy.OutcomeRecorded, Candidate.Erased, Contact.Erased,
    )
)

# Called after each page with (position reached, log head, events decoded so far).
Progress = Callable[[int, int, int], None]


@dataclass(frozen=True)
class ReportScope:
    """Whose candidacies a report covers: every team or one (None is the team-less group), maybe one recruiter."""

    all_teams: bool = True
    team: str | None = None
    recruiter_id: UUID | None = None

    def covers(self, team: str | None, owner_id: UUID | None) -> bool:
        if not self.all_teams and team != self.team:
            return False
        return self.recruiter_id is None or owner_id == self.recruiter_id


@dataclass
class ReplayedCandidacy:
    facts: CandidacyFacts
    owner_id: UUID
    team: str | None
    company: str


@dataclass
class ReplayedContact:
    """One employer contact: its own details, its latest touch anywhere (what the follow-up rules read)
    and the touches by the report's scope (what the network figures count), all up to as_of."""

    name: str | None = None
    company: str | None = None
    title: str | None = None
    last_touch_at: datetime | None = None
    linkedin_connected_at: datetime | None = None
    touches: int = 0
    first_touch_at: datetime | None = None
    scope_last_touch_at: datetime | None = None

    def facts(self, contact_id: UUID) -> ContactFacts:
        touches = (self.last_touch_at,) if self.last_touch_at is not None else ()
        return ContactFacts(contact_id, touches, self.linkedin_connected_at)


@dataclass
class Replay:
    """What the log said, as known at known_at, about what had happened by as_of."""

    as_of: datetime
    known_at: datetime
    scope: ReportScope = field(default_factory=ReportScope)
    position: int = 0  # the last log position read
    events: int = 0  # events folded in
    candidacies: dict[UUID, ReplayedCandidacy] = field(default_factory=dict)
    contacts: dict[UUID, ReplayedContact] = field(default_factory=dict)
    candidate_names: dict[UUID, str] = field(default_factory=dict)
    recruiters: dict[UUID, tuple[str, str | None]] = field(default_factory=dict)  # name, team
    touches_by_month: Counter[str] = field(default_factory=Counter)

    def contact_facts(self) -> dict[UUID, ContactFacts]:
        return {contact_id: contact.facts(contact_id) for contact_id, contact in self.contacts.items()}

    def recruiter_name(self, recruiter_id: UUID | None) -> str | None:
        known = self.recruiters.get(recruiter_id) if recruiter_id is not None else None
        return known[0] if known is not None else None

    def apply(self, event: DomainEventProtocol[UUID]) -> None:
        self.events += 1
        if isinstance(event, Candidacy.Opened):
            if self.scope.covers(event.team, event.owner_id):
                self.candidacies[event.originator_id] = ReplayedCandidacy(
                    CandidacyFacts(event.originator_id, event.candidate_id, event.timezone, event.country,
                                   event.subdivision),
                    event.owner_id, event.team, event.company,
                )
        elif isinstance(event, Candidacy.Event):
            candidacy = self.candidacies.get(event.originator_id)
            if candidacy is not None:
                candidacy.facts = apply_candidacy_event(candidacy.facts, event)
            for contact_id in _contacts_touched(event):
                self._touch(contact_id, event.occurred_at, in_scope=candidacy is not None)
        elif isinstance(event, Contact.Added):
            contact = self.contacts.setdefault(event.originator_id, ReplayedContact())
            contact.name, contact.company, contact.title = event.name, event.company, event.title
        elif isinstance(event, Contact.NoteSent):
            name_team = self.recruiters.get(event.actor_id)
            sender_team = name_team[1] if name_team is not None else None
            self._touch(event.originator_id, event.occurred_at,
                        in_scope=self.scope.covers(sender_team, event.actor_id))
        elif isinstance(event, Contact.LinkedInConnected):
            contact = self.contacts.setdefault(event.originator_id, ReplayedContact())
            contact.linkedin_connected_at = _earliest(contact.linkedin_connected_at, event.connected_at)
        elif isinstance(event, Candidate.Registered):
            if self.scope.covers(event.team, event.owner_id):
                self.candidate_names[event.originator_id] = event.name
        elif isinstance(event, Recruiter.Added):
            self.recruiters[event.originator_id] = (event.name, event.team)
        # Erased people stay in the figures, without their names.
        elif isinstance(event, Candidate.Erased):
            if event.originator_id in self.candidate_names:
                self.candidate_names[event.originator_id] = ERASED_NAME
        elif isinstance(event, Contact.Erased):
            contact = self.contacts.setdefault(event.originator_id, ReplayedContact())
            contact.name, contact.title = ERASED_NAME, None

    def _touch(self, contact_id: UUID, at: datetime, *, in_scope: bool) -> None:
        # Touches after as_of had not happened yet at as_of: only what had counts.
        if at > self.as_of:
            return
        contact = self.contacts.setdefault(contact_id, ReplayedContact())
        contact.last_touch_at = _latest(contact.last_touch_at, at)
        if in_scope:
            contact.touches += 1
            contact.first_touch_at = _earliest(contact.first_touch_at, at)
            contact.scope_last_touch_at = _latest(contact.scope_last_touch_at, at)
            self.touches_by_month[f"{at.astimezone(self.as_of.tzinfo):%Y-%m}"] += 1


def read_log(
    app: FollowupApplication,
    *,
    known_at: datetime,
    topics: Sequence[str] = (),
    page_size: int = PAGE_SIZE,
    progress: Progress | None = None,
) -> Iterator[tuple[int, DomainEventProtocol[UUID]]]:
    """(position, event) for each event of `topics` (all when empty) recorded by known_at, in log order."""
    head = app.recorder.max_notification_id() or 0
    position = decoded = 0
    while position < head:
        # Up to the head as of the start: what is appended meanwhile was not known at known_at.
        notifications = app.recorder.select_notifications(
            start=position + 1, limit=page_size, stop=head, topics=topics
        )
        if not notifications:
            break
        for notification in notifications:
            event = app.mapper.to_domain_event(notification)
            decoded += 1
            if event.timestamp > known_at:
                if event.timestamp > known_at + STOP_MARGIN:
                    if progress is not None:
                        progress(head, head, decoded)
                    return
                continue
            yield notification.id, event
        position = notifications[-1].id
        if progress is not None:
            progress(position, head, decoded)
    if progress is not None:
        progress(head, head, decoded)


def replay(
    app: FollowupApplication,
    *,
    as_of: datetime,
    known_at: datetime,
    scope: ReportScope | None = None,
    progress: Progress | None = None,
) -> Replay:
    """The log folded into per-candidacy facts and per-contact aggregates, in bounded memory."""
    state = Replay(as_of=as_of, known_at=known_at, scope=scope or ReportScope())
    for position, event in read_log(app, known_at=known_at, topics=FOLD_TOPICS, progress=progress):
        state.apply(event)
        state.position = position
    return state


def _contacts_touched(event: Any) -> tuple[UUID, ...]:
    if isinstance(event, Candidacy.Interview):
        return tuple(event.interviewer_ids)
    if isinstance(event, Candidacy.NoteSent):
        return (event.contact_id,)
    if isinstance(event, Candidacy.CheckInSent) and event.contact_id is not None:
        return (event.contact_id,)
    return ()


def _earliest(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b < a else a


def _latest(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b > a else a
