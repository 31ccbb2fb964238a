"""Erasure (admin only): forget a candidate or an employer contact, keeping the history's shape (DESIGN §8)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api.deps import NO_NUL, AdminCommand, Application
from api.errors import Problem
from api.schemas import Created, ErasureBody, problem_responses

router = APIRouter(tags=["erasure"])

ReasonQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=500, pattern=NO_NUL,
          description="Why (e.g. the request's ticket number); never the person's data. Or give it in the body."),
]
ERASURE_RESPONSES = problem_responses(400, 401, 403, 404, 410, 413, 422)


def _reason(query: str | None, body: ErasureBody | None) -> str:
    reason = body.reason if body is not None else query
    if reason is None:
        raise Problem(422, "reason is required: why the person is erased (never their data)",
                      errors=[{"field": "reason", "message": "required, in the query or the body"}],
                      type_="validation")
    return reason


def _erased(response: JSONResponse) -> JSONResponse:
    # Nothing is created: the erasure answers 200, with the command's id, version and position.
    if response.status_code == 201:
        response.status_code = 200
    return response


@router.delete("/v1/candidates/{candidate_id}", response_model=Created, responses=ERASURE_RESPONSES)
def erase_candidate(candidate_id: UUID, application: Application, command: AdminCommand,
                    reason: ReasonQuery = None, body: ErasureBody | None = None) -> JSONResponse:
    """Erase a candidate: their key is destroyed (their name, email and phone can no longer be read
    anywhere), Candidate.Erased is recorded with the reason, and the read models forget them."""
    why = _reason(reason, body)
    return _erased(command.run(lambda: application.erase_candidate(candidate_id, why, by=command.by)))


@router.delete("/v1/contacts/{contact_id}", response_model=Created, responses=ERASURE_RESPONSES)
def erase_contact(contact_id: UUID, application: Application, command: AdminCommand,
                  reason: ReasonQuery = None, body: ErasureBody | None = None) -> JSONResponse:
    """Erase an employer contact: as for a candidate; their company and touches stay, anonymously."""
    why = _reason(reason, body)
    return _erased(command.run(lambda: application.erase_contact(contact_id, why, by=command.by)))
