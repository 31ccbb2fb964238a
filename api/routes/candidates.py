"""Candidates: register one, read one (the caller's team's only)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from api.deps import Application, CurrentRecruiter, WriteCommand, etag, visible_candidate
from api.schemas import CandidateOut, Created, NewCandidateBody

router = APIRouter(prefix="/v1/candidates", tags=["candidates"])


@router.post("", status_code=201, response_model=Created)
def register_candidate(body: NewCandidateBody, application: Application, command: WriteCommand) -> JSONResponse:
    """Register a candidate, owned by the caller (and so by the caller's team)."""
    return command.run(lambda: application.register_candidate(
        body.name, email=body.email, phone=body.phone, specialty=body.specialty,
        career_stage=body.career_stage, owner_id=command.recruiter.id, by=command.by,
    ))


@router.get("/{candidate_id}", response_model=CandidateOut)
def read_candidate(
    candidate_id: UUID, application: Application, recruiter: CurrentRecruiter, response: Response
) -> CandidateOut:
    candidate = visible_candidate(application, recruiter, candidate_id)
    response.headers["ETag"] = etag(candidate.version)
    return CandidateOut(
        id=candidate.id, version=candidate.version, name=candidate.name, email=candidate.email,
        phone=candidate.phone, specialty=candidate.specialty, career_stage=candidate.career_stage,
        owner_id=candidate.owner_id, team=candidate.team,
        created_at=candidate.created_on, modified_at=candidate.modified_on,
    )
