"""Recruiters: add a user of the API, rotate their key, deactivate them (admins only)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import AdminCommand, Application
from api.schemas import COMMAND_ERRORS, CREATE_ERRORS, Created, CreatedWithKey, NewRecruiterBody

router = APIRouter(prefix="/v1/recruiters", tags=["recruiters"])


@router.post("", status_code=201, response_model=CreatedWithKey, responses=CREATE_ERRORS)
def add_recruiter(body: NewRecruiterBody, application: Application, command: AdminCommand) -> JSONResponse:
    """Add a recruiter; the answer shows the new API key, once."""
    return command.run(lambda: application.add_recruiter(body.name, body.role, body.team, by=command.by))


@router.post("/{recruiter_id}/rotate-key", status_code=201, response_model=CreatedWithKey, responses=COMMAND_ERRORS)
def rotate_key(recruiter_id: UUID, application: Application, command: AdminCommand) -> JSONResponse:
    """Replace the recruiter's key: the old one stops working at once."""
    return command.run(lambda: application.rotate_key(recruiter_id, by=command.by))


@router.post("/{recruiter_id}/deactivate", status_code=201, response_model=Created, responses=COMMAND_ERRORS)
def deactivate(recruiter_id: UUID, application: Application, command: AdminCommand) -> JSONResponse:
    """Deactivate the recruiter: their key stops working at once."""
    return command.run(lambda: application.deactivate_recruiter(recruiter_id, by=command.by))
