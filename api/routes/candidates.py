"""Candidates: register one, read one, list them (the caller's team's only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from api.deps import (
    NO_NUL,
    Application,
    CurrentRecruiter,
    Page,
    Reads,
    WriteCommand,
    encode_cursor,
    etag,
    invalid_cursor,
    team_scope,
    visible_candidate,
)
from api.schemas import CandidateOut, CandidatePage, Created, NewCandidateBody, problem_responses
from domain.candidate import Candidate
from domain.values import CareerStage
from projections.candidates import CandidatesProjection
from projections.queries import CandidateFilters, CandidateKey, candidate_key, candidates_page

router = APIRouter(prefix="/v1/candidates", tags=["candidates"])


@router.post("", status_code=201, response_model=Created, responses=problem_responses(400, 401, 403, 413, 422))
def register_candidate(body: NewCandidateBody, application: Application, command: WriteCommand) -> JSONResponse:
    """Register a candidate, owned by the caller (and so by the caller's team)."""
    return command.run(lambda: application.register_candidate(
        body.name, email=body.email, phone=body.phone, specialty=body.specialty,
        career_stage=body.career_stage, owner_id=command.recruiter.id, by=command.by,
    ))


@router.get("", response_model=CandidatePage, responses=problem_responses(401, 422, 503))
def list_candidates(
    application: Application,
    recruiter: CurrentRecruiter,
    reads: Reads,
    page: Page,
    owner_id: UUID | None = None,
    specialty: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
    career_stage: CareerStage | None = None,
) -> CandidatePage:
    """The caller's team's candidates (an admin's: every team's), oldest registration first."""
    filters = CandidateFilters(owner_id, specialty, career_stage.value if career_stage else None)
    after = _decode_key(page.after)
    with reads.caught_up([CandidatesProjection.name]) as conn:
        rows = candidates_page(conn, reads.schema, scope=team_scope(recruiter), filters=filters, after=after,
                               limit=page.limit + 1)
    # Names, emails and phones are read from each candidate's own stream, never kept in a read model.
    # Erased candidates are left out (the read model marks them; one erased since the query began is skipped).
    candidates = [application.get_candidate_unless_erased(row["candidate_id"]) for row in rows[: page.limit]]
    items = [candidate_out(candidate) for candidate in candidates if candidate is not None]
    next_cursor = encode_cursor(candidate_key(rows[page.limit - 1])) if len(rows) > page.limit else None
    return CandidatePage(items=items, next_cursor=next_cursor)


@router.get("/{candidate_id}", response_model=CandidateOut, responses=problem_responses(401, 404, 410, 422))
def read_candidate(
    candidate_id: UUID, application: Application, recruiter: CurrentRecruiter, response: Response
) -> CandidateOut:
    candidate = visible_candidate(application, recruiter, candidate_id)
    response.headers["ETag"] = etag(candidate.version)
    return candidate_out(candidate)


def candidate_out(candidate: Candidate) -> CandidateOut:
    return CandidateOut(
        id=candidate.id, version=candidate.version, name=candidate.name, email=candidate.email,
        phone=candidate.phone, specialty=candidate.specialty, career_stage=candidate.career_stage,
        owner_id=candidate.owner_id, team=candidate.team,
        created_at=candidate.created_on, modified_at=candidate.modified_on,
    )


def _decode_key(after: list[object] | None) -> CandidateKey | None:
    if after is None:
        return None
    try:
        registered_at, candidate_id = after
        return (datetime.fromisoformat(str(registered_at)), UUID(str(candidate_id)))
    except (TypeError, ValueError):
        raise invalid_cursor() from None

