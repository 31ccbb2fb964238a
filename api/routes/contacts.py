"""Contacts on the employer side: shared by every team; add, read, note, LinkedIn connection."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from api.deps import Application, CurrentRecruiter, WriteCommand, etag
from api.schemas import (
    COMMAND_ERRORS,
    CREATE_ERRORS,
    ContactNoteBody,
    ContactOut,
    Created,
    LinkedInBody,
    NewContactBody,
    problem_responses,
)

router = APIRouter(prefix="/v1/contacts", tags=["contacts"])


@router.post("", status_code=201, response_model=Created, responses=CREATE_ERRORS)
def add_contact(body: NewContactBody, application: Application, command: WriteCommand) -> JSONResponse:
    return command.run(lambda: application.add_contact(
        body.name, body.company, title=body.title, email=body.email, linkedin_url=body.linkedin_url, by=command.by,
    ))


@router.get("/{contact_id}", response_model=ContactOut, responses=problem_responses(401, 404, 410, 422))
def read_contact(contact_id: UUID, application: Application, recruiter: CurrentRecruiter,
                 response: Response) -> ContactOut:
    contact = application.get_contact(contact_id)
    response.headers["ETag"] = etag(contact.version)
    return ContactOut(
        id=contact.id, version=contact.version, name=contact.name, company=contact.company, title=contact.title,
        email=contact.email, linkedin_url=contact.linkedin_url, linkedin_connected_at=contact.linkedin_connected_at,
        created_at=contact.created_on, modified_at=contact.modified_on,
    )


@router.post("/{contact_id}/notes", status_code=201, response_model=Created, responses=COMMAND_ERRORS)
def send_note(contact_id: UUID, body: ContactNoteBody, application: Application,
              command: WriteCommand) -> JSONResponse:
    """A stay-in-touch note (helpful_info, congratulations): NoteSent on the contact."""
    return command.run(lambda: application.send_contact_note(
        contact_id, body.kind, body.channel, body.sent_at, by=command.by, expected_version=command.expected_version,
    ))


@router.post("/{contact_id}/linkedin", status_code=201, response_model=Created, responses=COMMAND_ERRORS)
def connect_linkedin(contact_id: UUID, application: Application, command: WriteCommand,
                     body: LinkedInBody | None = None) -> JSONResponse:
    """LinkedInConnected: the recruiter is now connected with the contact."""
    connected_at = body.connected_at if body else None
    return command.run(lambda: application.connect_linkedin(
        contact_id, connected_at, by=command.by, expected_version=command.expected_version,
    ))
