"""Candidacies: open one, read it, record what happens around its interviews, and read its history."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from api.deps import (
    AppSettings,
    Application,
    CurrentRecruiter,
    Page,
    Reads,
    WriteCommand,
    encode_cursor,
    etag,
    invalid_cursor,
    referenced_candidate,
    visible_candidacy,
)
from api.schemas import (
    COMMAND_ERRORS,
    CREATE_ERRORS,
    READ_ERRORS,
    CandidacyNoteBody,
    CandidacyOut,
    CheckInBody,
    CheckInOut,
    Created,
    DeadlineBody,
    DeadlineOut,
    HistoryEventOut,
    HistoryPage,
    InterviewBody,
    InterviewOut,
    NewCandidacyBody,
    NoteOut,
    OutcomeBody,
    OutcomeOut,
)
from projections.queries import event_positions

router = APIRouter(prefix="/v1/candidacies", tags=["candidacies"])

# Attributes every event carries, reported beside `data` rather than in it.
_ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic",
             "actor_id", "correlation_id", "occurred_at"}


@router.post("", status_code=201, response_model=Created, responses=CREATE_ERRORS)
def open_candidacy(body: NewCandidacyBody, application: Application, command: WriteCommand,
                   settings: AppSettings) -> JSONResponse:
    """Open a candidacy for one of the caller's team's candidates."""

    def execute():
        referenced_candidate(application, command.recruiter, body.candidate_id)
        return application.open_candidacy(
            body.candidate_id, body.company, body.position,
            timezone=body.timezone or settings.timezone, country=body.country or settings.country,
            subdivision=body.subdivision, by=command.by,
        )

    return command.run(execute)


@router.get("/{candidacy_id}", response_model=CandidacyOut, responses=READ_ERRORS)
def read_candidacy(candidacy_id: UUID, application: Application, recruiter: CurrentRecruiter,
                   response: Response) -> CandidacyOut:
    candidacy = visible_candidacy(application, recruiter, candidacy_id)
    response.headers["ETag"] = etag(candidacy.version)
    return CandidacyOut(
        id=candidacy.id, version=candidacy.version, candidate_id=candidacy.candidate_id,
        owner_id=candidacy.owner_id, team=candidacy.team, company=candidacy.company, position=candidacy.position,
        timezone=candidacy.timezone, country=candidacy.country, subdivision=candidacy.subdivision,
        interviews=[InterviewOut(held_at=r.held_at, interviewer_ids=list(r.interviewer_ids), format=r.format)
                    for r in candidacy.interviews],
        deadlines=[DeadlineOut(decide_by=d.decide_by, stated_at=d.stated_at) for d in candidacy.deadlines],
        notes=[NoteOut(contact_id=n.contact_id, kind=n.kind, channel=n.channel, sent_at=n.sent_at)
               for n in candidacy.notes],
        check_ins=[CheckInOut(channel=c.channel, contact_id=c.contact_id, sent_at=c.sent_at)
                   for c in candidacy.check_ins],
        outcome=(OutcomeOut(outcome=candidacy.outcome.outcome, occurred_at=candidacy.outcome.occurred_at)
                 if candidacy.outcome else None),
        closed=candidacy.is_closed, created_at=candidacy.created_on, modified_at=candidacy.modified_on,
    )


@router.post("/{candidacy_id}/interviews", status_code=201, response_model=Created, responses=COMMAND_ERRORS)
def record_interview(candidacy_id: UUID, body: InterviewBody, application: Application,
                     command: WriteCommand) -> JSONResponse:
    """Interview: a round took place, with these interviewers."""
    candidacy = visible_candidacy(application, command.recruiter, candidacy_id)
    return command.run(lambda: application.record_interview(
        candidacy_id, body.held_at, body.interviewer_ids, body.format,
        by=command.by, expected_version=command.expected_version, loaded=candidacy,
    ))


@router.post("/{candidacy_id}/deadline", status_code=201, response_model=Created, responses=COMMAND_ERRORS)
def state_deadline(candidacy_id: UUID, body: DeadlineBody, application: Application,
                   command: WriteCommand) -> JSONResponse:
    """DeadlineStated: the employer said when they expect to decide."""
    candidacy = visible_candidacy(application, command.recruiter, candidacy_id)
    return command.run(lambda: application.state_deadline(
        candidacy_id, body.decide_by, body.stated_at,
        by=command.by, expected_version=command.expected_version, loaded=candidacy,
    ))


@router.post("/{candidacy_id}/notes", status_code=201, response_model=Created, responses=COMMAND_ERRORS)
def send_note(candidacy_id: UUID, body: CandidacyNoteBody, application: Application,
              command: WriteCommand) -> JSONResponse:
    """NoteSent: a thank-you (or other note) went out to a contact."""
    candidacy = visible_candidacy(application, command.recruiter, candidacy_id)
    return command.run(lambda: application.send_note(
        candidacy_id, body.contact_id, body.kind, body.channel, body.sent_at,
        by=command.by, expected_version=command.expected_version, loaded=candidacy,
    ))


@router.post("/{candidacy_id}/check-ins", status_code=201, response_model=Created, responses=COMMAND_ERRORS)
def send_check_in(candidacy_id: UUID, body: CheckInBody, application: Application,
                  command: WriteCommand) -> JSONResponse:
    """CheckInSent: a post-interview check-in went out."""
    candidacy = visible_candidacy(application, command.recruiter, candidacy_id)
    return command.run(lambda: application.send_check_in(
        candidacy_id, body.channel, body.contact_id, body.sent_at,
        by=command.by, expected_version=command.expected_version, loaded=candidacy,
    ))


@router.post("/{candidacy_id}/outcome", status_code=201, response_model=Created, responses=COMMAND_ERRORS)
def record_outcome(candidacy_id: UUID, body: OutcomeBody, application: Application,
                   command: WriteCommand) -> JSONResponse:
    """OutcomeRecorded: offer, hired, rejected or withdrawn."""
    candidacy = visible_candidacy(application, command.recruiter, candidacy_id)
    return command.run(lambda: application.record_outcome(
        candidacy_id, body.outcome, body.occurred_at,
        by=command.by, expected_version=command.expected_version, loaded=candidacy,
    ))


@router.get("/{candidacy_id}/history", response_model=HistoryPage, responses=READ_ERRORS)
def read_history(candidacy_id: UUID, application: Application, recruiter: CurrentRecruiter,
                 page: Page, reads: Reads) -> HistoryPage:
    """Every event of the candidacy's stream, in order, with who recorded it and when."""
    visible_candidacy(application, recruiter, candidacy_id)
    after_version = 0
    if page.after is not None:
        if len(page.after) != 1 or not isinstance(page.after[0], int):
            raise invalid_cursor()
        after_version = page.after[0]
    events = list(application.events.get(candidacy_id, gt=after_version, limit=page.limit + 1))
    with reads.connection() as conn:
        positions = event_positions(conn, reads.schema, candidacy_id, after_version=after_version,
                                    limit=page.limit + 1)
    items = [_history_item(event, positions.get(event.originator_version)) for event in events[: page.limit]]
    next_cursor = encode_cursor([items[-1].version]) if len(events) > page.limit else None
    return HistoryPage(items=items, next_cursor=next_cursor)


def _history_item(event: object, position: int | None) -> HistoryEventOut:
    attributes = vars(event)
    data = {name: value for name, value in attributes.items() if name not in _ENVELOPE}
    return HistoryEventOut(
        type=type(event).__name__,
        version=attributes["originator_version"],
        position=position,
        occurred_at=attributes.get("occurred_at"),
        recorded_at=attributes["timestamp"],
        actor_id=attributes.get("actor_id"),
        correlation_id=attributes.get("correlation_id"),
        data=jsonable_encoder(data),
    )
