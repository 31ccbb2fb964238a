"""Replays the event log into memory, page by page: each candidacy's facts and each contact's aggregates, as known at a moment."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import InterfaceError, Mapper, Notification, OperationalError
from eventsourcing.utils import get_topic, resolve_topic
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from domain.application import FollowupApplication
from domain.candidacy import Candidacy
from domain.candidate import Candidate
from domain.contact import Contact
from domain.recruiter import Recruiter
from domain.values import (
    ERASED_NAME,
    CandidacyFacts,
    Channel,
    ContactFacts,
    InterviewFormat,
    InterviewRound,
    NoteKind,
    Outcome,
    RecordedOutcome,
    SentCheckIn,
    SentNote,
    StatedDeadline,
)
from infra.personal_data import decode_page, topic_has_personal_fields
from infra.transcoder import FollowupTranscoder

log = logging.getLogger(__name__)

# Log positions read per query (a range this wide, not this many events of the topics asked for).
PAGE_SIZE = 5000
# The recorded timestamp is taken when an event is created, a moment before it is
# appended, so positions and timestamps agree only roughly: past known_at, the replay
# reads on for this long before concluding that nothing it knew of at known_at is left.
STOP_MARGIN = timedelta(minutes=5)


def _topics(*event_classes: type) -> tuple[str, ...]:
    return tuple(get_topic(event_class) for event_class in event_classes)


CANDIDACY_EVENTS = (
    Candidacy.Opened, Candidacy.Interview, Candidacy.DeadlineStated, Candidacy.NoteSent, Candidacy.CheckInSent,
    Candidacy.OutcomeRecorded,
)
CONTACT_EVENTS = (Contact.Added, Contact.NoteSent, Contact.LinkedInConnected, Contact.Erased)


@dataclass(frozen=True)
class ReportReads:
    """What a report reads of the log: the events it needs (the others are skipped without being
    decoded), and whether it needs the contacts (their details, touches and LinkedIn connections)."""

    topics: tuple[str, ...]
    contacts: bool = True


# The follow-up queue: every candidacy's facts, the contacts' latest touches, and everyone's names.
FOLLOW_UPS_READS = ReportReads(
    _topics(Recruiter.Added, Candidate.Registered, Candidate.Erased, *CONTACT_EVENTS, *CANDIDACY_EVENTS)
)
# Compliance: the candidacies' facts and the recruiters' names and teams. No contact or candidate
# is named in it, so their events (and the decryption of their personal data) are skipped.
COMPLIANCE_READS = ReportReads(_topics(Recruiter.Added, *CANDIDACY_EVENTS), contacts=False)
# The network: the contacts, and the candidacy events that are touches with them.
NETWORK_READS = ReportReads(
    _topics(Recruiter.Added, *CONTACT_EVENTS, Candidacy.Opened, Candidacy.Interview, Candidacy.NoteSent,
            Candidacy.CheckInSent)
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


# A candidacy's facts as plain tuples, in recording order: a replay holds every candidacy of the
# log at once, and a tuple is the smallest record (a frozen dataclass per fact would be a few times the
# size, and rebuilding the candidacy's facts for each event the fold reads, as the live read models
# do, would cost a copy per event).
Round = tuple[datetime, tuple[UUID, ...], InterviewFormat]  # held_at, interviewer ids, format
Deadline = tuple[datetime, date]  # stated_at, decide_by
Note = tuple[datetime, UUID, NoteKind, Channel]  # sent_at, contact id, kind, channel
CheckIn = tuple[datetime, UUID | None, Channel]  # sent_at, contact id, channel
Result = tuple[datetime, Outcome]  # occurred_at, outcome


class ReplayedCandidacy:
    """One candidacy: who owns it and what had been recorded of it."""

    __slots__ = ("candidacy_id", "candidate_id", "owner_id", "team", "company", "timezone", "country",
                 "subdivision", "rounds", "deadlines", "notes", "check_ins", "outcome")

    def __init__(self, candidacy_id: UUID, candidate_id: UUID, owner_id: UUID, team: str | None, company: str,
                 timezone: str, country: str, subdivision: str | None) -> None:
        self.candidacy_id = candidacy_id
        self.candidate_id = candidate_id
        self.owner_id = owner_id
        self.team = team
        self.company = company
        self.timezone = timezone
        self.country = country
        self.subdivision = subdivision
        self.rounds: tuple[Round, ...] = ()
        self.deadlines: tuple[Deadline, ...] = ()
        self.notes: tuple[Note, ...] = ()
        self.check_ins: tuple[CheckIn, ...] = ()
        self.outcome: Result | None = None

    def __repr__(self) -> str:
        return f"ReplayedCandidacy({', '.join(f'{name}={getattr(self, name)!r}' for name in self.__slots__)})"

    def facts(self) -> CandidacyFacts:
        """The facts as the follow-up rules read them."""
        return CandidacyFacts(
            self.candidacy_id, self.candidate_id, self.timezone, self.country, self.subdivision,
            interviews=tuple(InterviewRound(held_at, ids, format) for held_at, ids, format in self.rounds),
            deadlines=tuple(StatedDeadline(decide_by, stated_at) for stated_at, decide_by in self.deadlines),
            notes=tuple(SentNote(contact_id, kind, channel, sent_at)
                        for sent_at, contact_id, kind, channel in self.notes),
            check_ins=tuple(SentCheckIn(channel, sent_at, contact_id)
                            for sent_at, contact_id, channel in self.check_ins),
            outcome=RecordedOutcome(self.outcome[1], self.outcome[0]) if self.outcome is not None else None,
        )


@dataclass
class ReplayedContact:
    """One employer contact: its own details, its latest touch anywhere (what the follow-up rules read)
    and the touches by the report's scope (what the network figures count), all up to as_of."""

    name: str | None = None
    company: str | None = None
    title: str | None = None
    last_touch_at: datetime | None = None
    linkedin_connected_at: datetime | None = None
    erased_at: datetime | None = None
    touches: int = 0
    first_touch_at: datetime | None = None
    scope_last_touch_at: datetime | None = None

    def facts(self, contact_id: UUID) -> ContactFacts:
        touches = (self.last_touch_at,) if self.last_touch_at is not None else ()
        return ContactFacts(contact_id, touches, self.linkedin_connected_at, self.erased_at)


@dataclass
class Replay:
    """What the log said, as known at known_at, about what had happened by as_of."""

    as_of: datetime
    known_at: datetime
    scope: ReportScope = field(default_factory=ReportScope)
    track_contacts: bool = True  # whether the contacts' details and touches are kept (see ReportReads)
    position: int = 0  # the last log position read
    events: int = 0  # events folded in
    candidacies: dict[UUID, ReplayedCandidacy] = field(default_factory=dict)
    contacts: dict[UUID, ReplayedContact] = field(default_factory=dict)
    candidate_names: dict[UUID, str] = field(default_factory=dict)
    recruiters: dict[UUID, tuple[str, str | None]] = field(default_factory=dict)  # name, team
    touches_by_month: Counter[str] = field(default_factory=Counter)
    # Every event carries its own copies of ids and names that recur across the log (an
    # interviewer, a recruiter, a time zone): one object each is kept, not one per event.
    _shared: dict[Any, Any] = field(default_factory=dict, repr=False)

    def contact_facts(self) -> dict[UUID, ContactFacts]:
        return {contact_id: contact.facts(contact_id) for contact_id, contact in self.contacts.items()}

    def recruiter_name(self, recruiter_id: UUID | None) -> str | None:
        known = self.recruiters.get(recruiter_id) if recruiter_id is not None else None
        return known[0] if known is not None else None

    def apply(self, topic: str, event: Mapping[str, Any]) -> None:
        """Fold in one event, given as its topic and its fields (originator_id included)."""
        self.events += 1
        handler = _HANDLERS.get(topic)
        if handler is not None:
            handler(self, event)

    def _share(self, value: Any) -> Any:
        return self._shared.setdefault(value, value)

    def _opened(self, e: Mapping[str, Any]) -> None:
        if self.scope.covers(e["team"], e["owner_id"]):
            share = self._share
            self.candidacies[e["originator_id"]] = ReplayedCandidacy(
                e["originator_id"], e["candidate_id"], share(e["owner_id"]), share(e["team"]), share(e["company"]),
                share(e["timezone"]), share(e["country"]), share(e["subdivision"]),
            )

    def _interview(self, e: Mapping[str, Any]) -> None:
        candidacy = self.candidacies.get(e["originator_id"])
        if candidacy is not None:
            interviewer_ids = tuple([self._share(contact_id) for contact_id in e["interviewer_ids"]])
            candidacy.rounds = (*candidacy.rounds, (e["held_at"], interviewer_ids, e["format"]))
        if self.track_contacts:
            for contact_id in e["interviewer_ids"]:
                self._touch(contact_id, e["occurred_at"], in_scope=candidacy is not None)

    def _deadline_stated(self, e: Mapping[str, Any]) -> None:
        candidacy = self.candidacies.get(e["originator_id"])
        if candidacy is not None:
            candidacy.deadlines = (*candidacy.deadlines, (e["stated_at"], e["decide_by"]))

    def _candidacy_note_sent(self, e: Mapping[str, Any]) -> None:
        candidacy = self.candidacies.get(e["originator_id"])
        if candidacy is not None:
            note = (e["sent_at"], self._share(e["contact_id"]), e["kind"], e["channel"])
            candidacy.notes = (*candidacy.notes, note)
        if self.track_contacts:
            self._touch(e["contact_id"], e["occurred_at"], in_scope=candidacy is not None)

    def _check_in_sent(self, e: Mapping[str, Any]) -> None:
        candidacy = self.candidacies.get(e["originator_id"])
        contact_id = e["contact_id"]
        if candidacy is not None:
            check_in = (e["sent_at"], self._share(contact_id), e["channel"])
            candidacy.check_ins = (*candidacy.check_ins, check_in)
        if self.track_contacts and contact_id is not None:
            self._touch(contact_id, e["occurred_at"], in_scope=candidacy is not None)

    def _outcome_recorded(self, e: Mapping[str, Any]) -> None:
        candidacy = self.candidacies.get(e["originator_id"])
        if candidacy is not None:
            candidacy.outcome = (e["occurred_at"], e["outcome"])

    def _contact_added(self, e: Mapping[str, Any]) -> None:
        contact = self.contacts.setdefault(e["originator_id"], ReplayedContact())
        contact.name, contact.company, contact.title = e["name"], self._share(e["company"]), e["title"]

    def _contact_note_sent(self, e: Mapping[str, Any]) -> None:
        name_team = self.recruiters.get(e["actor_id"])
        sender_team = name_team[1] if name_team is not None else None
        self._touch(e["originator_id"], e["occurred_at"], in_scope=self.scope.covers(sender_team, e["actor_id"]))

    def _linkedin_connected(self, e: Mapping[str, Any]) -> None:
        contact = self.contacts.setdefault(e["originator_id"], ReplayedContact())
        contact.linkedin_connected_at = _earliest(contact.linkedin_connected_at, e["connected_at"])

    def _candidate_registered(self, e: Mapping[str, Any]) -> None:
        if self.scope.covers(e["team"], e["owner_id"]):
            self.candidate_names[e["originator_id"]] = e["name"]

    def _recruiter_added(self, e: Mapping[str, Any]) -> None:
        self.recruiters[e["originator_id"]] = (e["name"], e["team"])

    # Erased people stay in the figures, without their names.
    def _candidate_erased(self, e: Mapping[str, Any]) -> None:
        if e["originator_id"] in self.candidate_names:
            self.candidate_names[e["originator_id"]] = ERASED_NAME

    def _contact_erased(self, e: Mapping[str, Any]) -> None:
        contact = self.contacts.setdefault(e["originator_id"], ReplayedContact())
        # The name is gone whatever as_of (the key is destroyed); the outreach ends when the erasure happened.
        contact.name, contact.title = ERASED_NAME, None
        contact.erased_at = e["occurred_at"]

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


# Each event the fold reads: its handler, and the fields the handler reads (those of an event of an
# aggregate without personal data are all that is decoded of it: see read_fields).
_FOLD: dict[type, tuple[Callable[[Replay, Mapping[str, Any]], None], tuple[str, ...]]] = {
    Candidacy.Opened: (Replay._opened, ("candidate_id", "owner_id", "team", "company", "timezone", "country",
                                        "subdivision")),
    Candidacy.Interview: (Replay._interview, ("held_at", "interviewer_ids", "format", "occurred_at")),
    Candidacy.DeadlineStated: (Replay._deadline_stated, ("stated_at", "decide_by")),
    Candidacy.NoteSent: (Replay._candidacy_note_sent, ("sent_at", "contact_id", "kind", "channel", "occurred_at")),
    Candidacy.CheckInSent: (Replay._check_in_sent, ("sent_at", "contact_id", "channel", "occurred_at")),
    Candidacy.OutcomeRecorded: (Replay._outcome_recorded, ("occurred_at", "outcome")),
    Contact.Added: (Replay._contact_added, ("name", "company", "title")),
    Contact.NoteSent: (Replay._contact_note_sent, ("actor_id", "occurred_at")),
    Contact.LinkedInConnected: (Replay._linkedin_connected, ("connected_at",)),
    Contact.Erased: (Replay._contact_erased, ("occurred_at",)),
    Candidate.Registered: (Replay._candidate_registered, ("team", "owner_id", "name")),
    Candidate.Erased: (Replay._candidate_erased, ()),
    Recruiter.Added: (Replay._recruiter_added, ("name", "team")),
}
_HANDLERS = {get_topic(event_class): handler for event_class, (handler, _) in _FOLD.items()}
FOLDED_FIELDS = {get_topic(event_class): fields for event_class, (_, fields) in _FOLD.items()}


# A row of the log: position, stream, version, topic, stored state.
Row = tuple[int, UUID, int, str, bytes]
# Rows are taken from a page's result this many at a time, and decoded and folded before the next
# ones: what is decoded of them is let go while still young, so the garbage collector does not move
# a page's worth of short-lived objects into its oldest generation (which it then rescans in full).
ROWS_AT_A_TIME = 200
# As the recorder does (infra.recorder): a connection dropped once (a restarted server, a failover)
# is tried again on another; a database that stays away fails the report within about two pool
# timeouts (a report asked over HTTP answers 503 then, as every read does).
READ_ATTEMPTS = 2
READ_RETRY_WAIT_S = 0.2


class _LogRows:
    """The log's rows of `topics` (all when empty), up to its head as of the start (what is appended
    meanwhile was not known when the replay began), a few at a time, in log order.

    The events table is read here rather than through the recorder's select_notifications: in binary
    (the stored states are sent as they are, not hex-escaped by the server and unescaped here) and as
    tuples, which halves what reading the log costs a replay of a million events."""

    def __init__(self, app: FollowupApplication, topics: Sequence[str], page_size: int | None,
                 progress: Progress | None) -> None:
        self.recorder = app.recorder
        self.topics = list(topics)
        self.page_size = page_size or PAGE_SIZE
        self.progress = progress
        self.decoded = 0  # counted by the reader, for the progress bar's rate

    def __iter__(self) -> Iterator[list[Row]]:
        recorder = self.recorder
        head = recorder.max_notification_id() or 0
        statement = SQL("SELECT notification_id, originator_id, originator_version, topic, state FROM {}.{} "
                        "WHERE notification_id BETWEEN %s AND %s").format(
            Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))
        if self.topics:
            statement += SQL(" AND topic = ANY(%s)")
        statement += SQL(" ORDER BY notification_id")
        position = 0
        while position < head:
            # A window of positions, not a number of rows: each query reads a bounded slice of the
            # notification index, whatever the planner's statistics say about the topics asked for.
            stop = min(position + self.page_size, head)
            params = (position + 1, stop, self.topics) if self.topics else (position + 1, stop)
            for attempt in range(1, READ_ATTEMPTS + 1):
                try:
                    with recorder.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row,
                                                                                  binary=True) as curs:
                        # The window's rows all arrive here: a connection lost during execute
                        # has given nothing yet, and the window is asked again.
                        curs.execute(statement, params, prepare=True)
                        while rows := curs.fetchmany(ROWS_AT_A_TIME):
                            yield rows
                    break
                except (InterfaceError, OperationalError):
                    if attempt == READ_ATTEMPTS:
                        raise
                    log.warning("reading the log for a replay failed (attempt %s of %s); reading again",
                                attempt, READ_ATTEMPTS)
                    time.sleep(READ_RETRY_WAIT_S)
            position = stop
            if self.progress is not None:
                self.progress(position, head, self.decoded)


def _known(timestamp: datetime, known_at: datetime) -> bool | None:
    """Whether an event recorded at timestamp was known at known_at; None: neither was anything after it."""
    if timestamp <= known_at:
        return True
    return False if timestamp <= known_at + STOP_MARGIN else None


def read_log(
    app: FollowupApplication,
    *,
    known_at: datetime,
    topics: Sequence[str] = (),
    page_size: int | None = None,
    progress: Progress | None = None,
) -> Iterator[tuple[int, DomainEventProtocol[UUID]]]:
    """(position, event) for each event of `topics` (all when empty) recorded by known_at, in log order."""
    log = _LogRows(app, topics, page_size, progress)
    for rows in log:
        # Decoded together: whoever the events name has their key read in one query.
        events = decode_page(app.mapper, [_notification(row) for row in rows])
        log.decoded += len(events)
        for row, event in zip(rows, events, strict=True):
            known = _known(event.timestamp, known_at)
            if known is None:
                return
            if known:
                yield row[0], event


def read_fields(
    app: FollowupApplication,
    *,
    known_at: datetime,
    topics: Sequence[str],
    page_size: int | None = None,
    progress: Progress | None = None,
) -> Iterator[tuple[int, str, Mapping[str, Any]]]:
    """(position, topic, fields) for each event of `topics` recorded by known_at, in log order: the
    fields the fold reads (FOLDED_FIELDS), with originator_id.

    Decoding whole events is most of what a replay costs, and the fold reads a few fields of each.
    So the events of aggregates without personal data are decoded here from their stored JSON, those
    fields only, by the application's own transcodings; the others (sealed personal data, a class
    version to upcast from) and any application whose mapper compresses or encrypts go through the
    mapper, whole."""
    mapper = app.mapper
    fast = FieldDecoder.for_mapper(mapper)
    log = _LogRows(app, topics, page_size, progress)
    for rows in log:
        by_mapper = [row for row in rows if fast is None or not _decoded_by_fields(row[3])]
        # Decoded together: whoever these events name has their key read in one query.
        events = dict(zip((row[0] for row in by_mapper), decode_page(mapper, [_notification(r) for r in by_mapper]),
                          strict=True))
        log.decoded += len(rows)
        for position, originator_id, _version, topic, state in rows:
            event = events.get(position)
            if event is None:
                assert fast is not None
                fields = fast.decode(topic, state)
                fields["originator_id"] = originator_id
                timestamp = fields["timestamp"]
            else:
                fields, timestamp = vars(event), event.timestamp
            known = _known(timestamp, known_at)
            if known is None:
                return
            if known:
                yield position, topic, fields


class FieldDecoder:
    """Decodes the fields the fold reads from an event's stored JSON, by the application's transcoder."""

    def __init__(self, transcoder: FollowupTranscoder) -> None:
        self.transcoder = transcoder

    @classmethod
    def for_mapper(cls, mapper: Mapper[UUID]) -> FieldDecoder | None:
        """One for this mapper's events, if they are stored as plain JSON (neither compressed nor encrypted)."""
        if mapper.cipher is not None or mapper.compressor is not None or not isinstance(mapper.transcoder,
                                                                                         FollowupTranscoder):
            return None
        return cls(mapper.transcoder)

    def decode(self, topic: str, state: bytes) -> dict[str, Any]:
        stored = self.transcoder.parse(state)
        revive = self.transcoder.revive
        fields = {name: revive(stored[name]) for name in FOLDED_FIELDS[topic]}
        fields["timestamp"] = revive(stored["timestamp"])
        return fields


@lru_cache
def _decoded_by_fields(topic: str) -> bool:
    """Whether a FieldDecoder reads the topic's events: those the fold reads, of an aggregate without
    personal data (which the mapper unseals), of the first version of their class (none to upcast)."""
    return (topic in FOLDED_FIELDS and not topic_has_personal_fields(topic)
            and getattr(resolve_topic(topic), "class_version", 1) == 1)


def _notification(row: Row) -> Notification:
    position, originator_id, version, topic, state = row
    return Notification(id=position, originator_id=originator_id, originator_version=version, topic=topic, state=state)


def replay(
    app: FollowupApplication,
    *,
    as_of: datetime,
    known_at: datetime,
    scope: ReportScope | None = None,
    reads: ReportReads = FOLLOW_UPS_READS,
    progress: Progress | None = None,
) -> Replay:
    """The log folded into per-candidacy facts and per-contact aggregates, in bounded memory."""
    state = Replay(as_of=as_of, known_at=known_at, scope=scope or ReportScope(), track_contacts=reads.contacts)
    for position, topic, fields in read_fields(app, known_at=known_at, topics=reads.topics, progress=progress):
        state.apply(topic, fields)
        state.position = position
    return state


def _earliest(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b < a else a


def _latest(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b > a else a
