"""Value types shared by the aggregates, the follow-up rules and the read side."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from uuid import UUID


class Role(Enum):
    ADMIN = "admin"
    RECRUITER = "recruiter"
    ANALYST = "analyst"


class CareerStage(Enum):
    NEW_GRAD = "new_grad"
    EXPERIENCED = "experienced"


class InterviewFormat(Enum):
    IN_PERSON = "in_person"
    PHONE = "phone"
    VIDEO = "video"


class NoteKind(Enum):
    THANK_YOU = "thank_you"
    HELPFUL_INFO = "helpful_info"
    CONGRATULATIONS = "congratulations"


class Channel(Enum):
    EMAIL = "email"
    HANDWRITTEN = "handwritten"
    LINKEDIN = "linkedin"
    PHONE = "phone"
    OTHER = "other"


class Outcome(Enum):
    OFFER = "offer"
    HIRED = "hired"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class FollowUpKind(Enum):
    THANK_YOU = "thank_you"
    CHECK_IN = "check_in"
    CONNECT_LINKEDIN = "connect_linkedin"
    STAY_IN_TOUCH = "stay_in_touch"


class FollowUpStatus(Enum):
    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    DONE = "done"


# Flags a follow-up item can carry.
# What an erased person's name reads as, wherever it used to appear (DESIGN §8).
ERASED_NAME = "erased person"

FLAG_EARLY = "early"  # a check-in sent before its window opened
FLAG_LATE = "late"  # done, but after due_by
FLAG_HANDWRITTEN_ONLY = "handwritten_only"  # a thank-you that may not arrive in time


# The facts of a candidacy, as plain values: what the rules read.
# Every timestamp is timezone-aware.


@dataclass(frozen=True)
class InterviewRound:
    held_at: datetime
    interviewer_ids: tuple[UUID, ...]
    format: InterviewFormat = InterviewFormat.IN_PERSON


@dataclass(frozen=True)
class StatedDeadline:
    decide_by: date
    stated_at: datetime


@dataclass(frozen=True)
class SentNote:
    contact_id: UUID
    kind: NoteKind
    channel: Channel
    sent_at: datetime


@dataclass(frozen=True)
class SentCheckIn:
    channel: Channel
    sent_at: datetime
    contact_id: UUID | None = None


@dataclass(frozen=True)
class RecordedOutcome:
    outcome: Outcome
    occurred_at: datetime


@dataclass(frozen=True)
class CandidacyFacts:
    """Everything the follow-up rules need to know about one candidacy."""

    candidacy_id: UUID
    candidate_id: UUID
    timezone: str = "UTC"
    country: str = "US"
    subdivision: str | None = None
    interviews: tuple[InterviewRound, ...] = ()
    deadlines: tuple[StatedDeadline, ...] = ()
    notes: tuple[SentNote, ...] = ()
    check_ins: tuple[SentCheckIn, ...] = ()
    outcome: RecordedOutcome | None = None

    @property
    def interviewer_ids(self) -> tuple[UUID, ...]:
        """Every contact who interviewed for this candidacy, in order of first round."""
        seen: dict[UUID, None] = {}
        for round_ in sorted(self.interviews, key=lambda r: r.held_at):
            for contact_id in round_.interviewer_ids:
                seen.setdefault(contact_id, None)
        return tuple(seen)


@dataclass(frozen=True)
class ContactFacts:
    """What the stay-in-touch rules need to know about one employer contact,
    across every candidacy and the contact's own stream."""

    contact_id: UUID
    touches: tuple[datetime, ...] = ()
    linkedin_connected_at: datetime | None = None
    # When the contact was erased (Contact.Erased): from then on no outreach is owed to them.
    erased_at: datetime | None = None


@dataclass(frozen=True)
class FollowUpItem:
    """One follow-up owed (or done), evaluated at a moment."""

    kind: FollowUpKind
    candidacy_id: UUID
    candidate_id: UUID
    contact_id: UUID | None
    # The fact that brought the item into existence (the interview, the latest
    # round or deadline, the outcome): with kind, candidacy and contact it
    # identifies the item.
    opened_at: datetime
    due_from: datetime
    due_by: datetime
    status: FollowUpStatus
    reason: str
    flags: tuple[str, ...] = ()
    done_at: datetime | None = None
