"""Request and response bodies of the HTTP API (pydantic v2): unknown fields are refused."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, BaseModel, ConfigDict, EmailStr, Field

from domain.values import CareerStage, Channel, FollowUpKind, FollowUpStatus, InterviewFormat, NoteKind, Outcome, Role


def _iana_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone name (e.g. America/New_York)") from None
    return name


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


_URL = re.compile(r"^https?://\S+$")


def _http_url(value: str) -> str:
    if not _URL.match(value):
        raise ValueError("must be an http(s) URL")
    return value


Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_not_blank)]
Text = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_not_blank)]
Phone = Annotated[str, Field(min_length=1, max_length=40)]
Url = Annotated[str, Field(max_length=500), AfterValidator(_http_url)]
TimeZone = Annotated[str, Field(max_length=64), AfterValidator(_iana_timezone)]


def _text_only(value: Any) -> Any:
    # A JSON number is not a timestamp or a date, though pydantic's lax mode would read it as one.
    if not isinstance(value, str):
        raise ValueError("must be a string in RFC 3339 form")
    return value


# An instant must carry its offset: RFC 3339, e.g. 2026-11-25T10:00:00-05:00.
Instant = Annotated[AwareDatetime, BeforeValidator(_text_only)]
def _supported_day(value: date) -> date:
    # The same range as every instant (domain.guards): dates past it are typing mistakes.
    if not date(1900, 1, 1) <= value < date(2100, 1, 1):
        raise ValueError("must be between 1900 and 2100")
    return value


Day = Annotated[date, BeforeValidator(_text_only), AfterValidator(_supported_day)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Commands.


class NewRecruiterBody(Body):
    name: Name
    role: Role
    team: Text | None = None


class NewCandidateBody(Body):
    name: Name
    email: EmailStr | None = Field(default=None, max_length=254)
    phone: Phone | None = None
    specialty: Text | None = None
    career_stage: CareerStage | None = None


class NewContactBody(Body):
    name: Name
    company: Text
    title: Text | None = None
    email: EmailStr | None = Field(default=None, max_length=254)
    linkedin_url: Url | None = None


class ContactNoteBody(Body):
    kind: NoteKind
    channel: Channel
    sent_at: Instant | None = None


class LinkedInBody(Body):
    connected_at: Instant | None = None


class NewCandidacyBody(Body):
    candidate_id: UUID
    company: Text
    position: Text
    timezone: TimeZone | None = None
    country: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")] | None = None
    subdivision: Annotated[str, Field(min_length=1, max_length=10)] | None = None


class InterviewBody(Body):
    held_at: Instant
    interviewer_ids: Annotated[list[UUID], Field(min_length=1, max_length=50)]
    format: InterviewFormat = InterviewFormat.IN_PERSON


class DeadlineBody(Body):
    decide_by: Day
    stated_at: Instant | None = None


class CandidacyNoteBody(Body):
    contact_id: UUID
    kind: NoteKind
    channel: Channel
    sent_at: Instant | None = None


class CheckInBody(Body):
    channel: Channel
    contact_id: UUID | None = None
    sent_at: Instant | None = None


class OutcomeBody(Body):
    outcome: Outcome
    occurred_at: Instant | None = None


class Created(BaseModel):
    id: UUID
    version: int
    position: int


class CreatedWithKey(Created):
    api_key: str | None = Field(description="The new API key, shown in this answer only.")


class ErasureBody(Body):
    reason: Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^\x00]*$",
                                 description="Why (e.g. the request's ticket number); never the person's data.")]


# Reads.


class CandidateOut(BaseModel):
    id: UUID
    version: int
    name: str
    email: str | None
    phone: str | None
    specialty: str | None
    career_stage: CareerStage | None
    owner_id: UUID
    team: str | None
    created_at: datetime
    modified_at: datetime


class ContactOut(BaseModel):
    id: UUID
    version: int
    name: str
    company: str
    title: str | None
    email: str | None
    linkedin_url: str | None
    linkedin_connected_at: datetime | None
    created_at: datetime
    modified_at: datetime


class InterviewOut(BaseModel):
    held_at: datetime
    interviewer_ids: list[UUID]
    format: InterviewFormat


class DeadlineOut(BaseModel):
    decide_by: date
    stated_at: datetime


class NoteOut(BaseModel):
    contact_id: UUID
    kind: NoteKind
    channel: Channel
    sent_at: datetime


class CheckInOut(BaseModel):
    channel: Channel
    contact_id: UUID | None
    sent_at: datetime


class OutcomeOut(BaseModel):
    outcome: Outcome
    occurred_at: datetime


class CandidacyOut(BaseModel):
    id: UUID
    version: int
    candidate_id: UUID
    owner_id: UUID
    team: str | None
    company: str
    position: str
    timezone: str
    country: str
    subdivision: str | None
    interviews: list[InterviewOut]
    deadlines: list[DeadlineOut]
    notes: list[NoteOut]
    check_ins: list[CheckInOut]
    outcome: OutcomeOut | None
    closed: bool
    created_at: datetime
    modified_at: datetime


class FollowUpOut(BaseModel):
    kind: FollowUpKind
    candidacy_id: UUID
    candidate_id: UUID
    contact_id: UUID | None
    due_from: datetime
    due_by: datetime
    status: FollowUpStatus
    reason: str
    flags: list[str]
    done_at: datetime | None


class FollowUpPage(BaseModel):
    items: list[FollowUpOut]
    next_cursor: str | None


class HistoryEventOut(BaseModel):
    type: str
    version: int
    position: int | None
    occurred_at: datetime | None
    recorded_at: datetime
    actor_id: UUID | None
    correlation_id: str | None
    data: dict[str, Any]


class HistoryPage(BaseModel):
    items: list[HistoryEventOut]
    next_cursor: str | None


# Error answers, as documented in the OpenAPI schema.


class ProblemOut(BaseModel):
    """An RFC 9457 problem: every error answer of the API."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] | None = Field(default=None, description="Validation: `{field, message}` each.")


_PROBLEM_DESCRIPTIONS = {
    400: "The body is not valid JSON.",
    401: "No API key, or an unknown, rotated or deactivated one.",
    403: "The caller's role may not do this.",
    404: "Unknown, or another team's.",
    409: "If-Match names another version than the current one, or the candidacy's outcome is recorded.",
    410: "The person was erased: their data is gone.",
    413: "The body is too large.",
    422: "Invalid input: `errors` names the fields.",
    503: "The database is unavailable, or a read model is catching up; retry after `Retry-After` seconds.",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of these error statuses: application/problem+json bodies.
    The schema is inline (it nests no model), so it needs no entry in the components."""
    schema = ProblemOut.model_json_schema()
    return {
        status: {
            "description": _PROBLEM_DESCRIPTIONS[status],
            "content": {"application/problem+json": {"schema": schema}},
        }
        for status in statuses
    }


# The error answers of each kind of operation, for the OpenAPI document.
CREATE_ERRORS = problem_responses(400, 401, 403, 413, 422, 503)
COMMAND_ERRORS = problem_responses(400, 401, 403, 404, 409, 410, 413, 422, 503)
READ_ERRORS = problem_responses(401, 404, 410, 422, 503)
LIST_ERRORS = problem_responses(401, 403, 422, 503)


# Lists of the read models.


class CandidatePage(BaseModel):
    items: list[CandidateOut]
    next_cursor: str | None


class NetworkContactOut(BaseModel):
    id: UUID
    name: str | None
    company: str | None
    touches: int
    last_touch_at: datetime | None
    next_touch_due: datetime | None
    strength: float = Field(description="In [0, 1]: grows with touches, halves every 90 days without one.")


class NetworkContactPage(BaseModel):
    items: list[NetworkContactOut]
    next_cursor: str | None


class NetworkCompanyOut(BaseModel):
    name: str
    contacts: int
    touches: int
    last_touch_at: datetime | None
    strength: float


class NetworkCompanyPage(BaseModel):
    items: list[NetworkCompanyOut]
    next_cursor: str | None


class CheckInTimingsOut(BaseModel):
    """Candidacies by the timing of their check-in after the latest round."""

    early: int
    on_time: int
    late: int
    missing: int
    pending: int
    not_owed: int


class OutcomeCountOut(BaseModel):
    outcome: Outcome
    with_thank_you_within_24h: int
    without_thank_you_within_24h: int


class ComplianceFiguresOut(BaseModel):
    thank_yous_owed: int = Field(description="Interviewer-rounds whose thank-you is sent or past due.")
    thank_yous_on_time: int
    thank_yous_late: int
    thank_you_on_time_rate: float | None = Field(description="On time / owed; null when none is owed.")
    median_hours_to_thank_you: float | None
    check_ins: CheckInTimingsOut
    follow_ups_measured: int = Field(
        description="Candidacies whose latest round is over 14 days old, or already followed up.")
    followed_up_within_14_days: int
    followed_up_within_14_days_share: float | None
    outcomes: list[OutcomeCountOut]


class TeamComplianceOut(ComplianceFiguresOut):
    team: str | None


class RecruiterComplianceOut(ComplianceFiguresOut):
    recruiter_id: UUID
    team: str | None


class ComplianceOut(BaseModel):
    from_: datetime = Field(serialization_alias="from", description="The range's start (inclusive).")
    to: datetime = Field(description="The range's end (exclusive).")
    overall: ComplianceFiguresOut
    teams: list[TeamComplianceOut]
    recruiters: list[RecruiterComplianceOut]


class AuditEventOut(BaseModel):
    position: int
    type: str
    aggregate_type: str
    stream: UUID
    version: int
    actor_id: UUID | None
    correlation_id: str | None
    occurred_at: datetime | None
    recorded_at: datetime


class AuditPage(BaseModel):
    items: list[AuditEventOut]
    next_cursor: str | None
