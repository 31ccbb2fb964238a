"""The API's dependencies, declared once: the application, the caller and their role, commands, reads, paging."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg import Connection
from psycopg.rows import DictRow
from psycopg_pool import ConnectionPool

from api.errors import Problem, domain_problem, problem_body
from api.idempotency import Answer, IdempotencyStore, created_body
from domain.application import Actor, CommandResult, FollowupApplication, NewRecruiter
from domain.candidacy import Candidacy
from domain.candidate import Candidate
from domain.errors import DomainError, NotFound, UnknownReference
from domain.recruiter import Recruiter
from domain.values import Role
from infra.settings import Settings
from projections.paging import ProjectionWorker
from projections.queries import TeamScope

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50


# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency in a worker thread,
# and handing work to a thread and back costs more than these take.


async def get_application(request: Request) -> FollowupApplication:
    return request.app.state.application


Application = Annotated[FollowupApplication, Depends(get_application)]


async def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


AppSettings = Annotated[Settings, Depends(get_app_settings)]

# Who is asking.

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`.")


def current_recruiter(
    application: Application,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Recruiter:
    # Looked up on every request, so a rotated or deactivated key stops working at once.
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Problem(401, "an API key is required: Authorization: Bearer <key>",
                      headers={"WWW-Authenticate": "Bearer"})
    recruiter = application.recruiter_for_key(credentials.credentials)
    if recruiter is None:
        raise Problem(401, "the API key is unknown, rotated or deactivated", headers={"WWW-Authenticate": "Bearer"})
    return recruiter


CurrentRecruiter = Annotated[Recruiter, Depends(current_recruiter)]


async def writer(recruiter: CurrentRecruiter) -> Recruiter:
    if recruiter.role not in (Role.ADMIN, Role.RECRUITER):
        raise Problem(403, f"the {recruiter.role.value} role reads and does not write")
    return recruiter


async def admin(recruiter: CurrentRecruiter) -> Recruiter:
    if recruiter.role is not Role.ADMIN:
        raise Problem(403, "only an admin may do this")
    return recruiter


Writer = Annotated[Recruiter, Depends(writer)]
Admin = Annotated[Recruiter, Depends(admin)]


def team_scope(recruiter: Recruiter) -> TeamScope:
    """Admins see every team; everyone else their own team's candidates, candidacies and follow-ups."""
    if recruiter.role is Role.ADMIN:
        return TeamScope(all_teams=True)
    return TeamScope(all_teams=False, team=recruiter.team)


def _sees(recruiter: Recruiter, team: str | None) -> bool:
    scope = team_scope(recruiter)
    return scope.all_teams or scope.team == team


def visible_candidate(application: FollowupApplication, recruiter: Recruiter, candidate_id: UUID) -> Candidate:
    """The candidate, if it is the caller's team's: another team's is as good as missing (404)."""
    candidate = application.get_candidate(candidate_id)
    if not _sees(recruiter, candidate.team):
        raise NotFound(f"no candidate {candidate_id}")
    return candidate


def visible_candidacy(application: FollowupApplication, recruiter: Recruiter, candidacy_id: UUID) -> Candidacy:
    candidacy = application.get_candidacy(candidacy_id)
    if not _sees(recruiter, candidacy.team):
        raise NotFound(f"no candidacy {candidacy_id}")
    return candidacy


def referenced_candidate(application: FollowupApplication, recruiter: Recruiter, candidate_id: UUID) -> Candidate:
    """A candidate named in a request body: unknown (or another team's) is invalid input, a 422."""
    try:
        return visible_candidate(application, recruiter, candidate_id)
    except NotFound:
        raise UnknownReference(f"no candidate {candidate_id}", field="candidate_id") from None


# Commands.

_ETAG = re.compile(r'^(?:W/)?"?(\d+)"?$')


def etag(version: int) -> str:
    return f'"{version}"'


@dataclass
class Command:
    """One command request: who makes it, the version it expects, and its idempotency key."""

    recruiter: Recruiter
    by: Actor
    expected_version: int | None
    idempotency: IdempotencyStore
    idempotency_key: str | None
    fingerprint: str

    def run(self, execute: Callable[[], CommandResult | NewRecruiter]) -> JSONResponse:
        """Executes the command once per idempotency key; answers 201 with id, version and position."""
        if self.idempotency_key is None:
            answer = self._answer(execute)
        else:
            answer = self.idempotency.answer_once(
                self.recruiter.id, self.idempotency_key, self.fingerprint, lambda: self._answer(execute)
            )
        headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
        if answer.status == 201:
            headers["ETag"] = etag(answer.body["version"])
            return JSONResponse(answer.body, status_code=201, headers=headers)
        return JSONResponse(answer.body, status_code=answer.status, headers=headers,
                            media_type="application/problem+json")

    @staticmethod
    def _answer(execute: Callable[[], CommandResult | NewRecruiter]) -> Answer:
        # A refused command is an answer too: a retry with the same key gets the same refusal.
        try:
            outcome = execute()
        except DomainError as error:
            problem = domain_problem(error)
            return Answer(problem.status, problem_body(problem.status, problem.detail, errors=problem.errors,
                                                       type_=problem.type_))
        if isinstance(outcome, NewRecruiter):
            body = {**_created(outcome.result), "api_key": outcome.api_key}
        else:
            body = _created(outcome)
        return Answer(201, body)


def _created(result: CommandResult) -> dict[str, Any]:
    return created_body(result.id, result.version, result.position)


def _expected_version(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    match = _ETAG.match(if_match.strip())
    if match is None:
        raise Problem(422, 'If-Match must be a version in quotes, e.g. "3"',
                      errors=[{"field": "If-Match", "message": "not a version"}], type_="validation")
    return int(match.group(1))


async def _fingerprint(request: Request) -> str:
    # The parsed body, so a retry that only reformats the JSON is the same request.
    raw = await request.body()
    try:
        canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")) if raw else ""
    except ValueError:
        canonical = raw.decode(errors="replace")
    return hashlib.sha256(f"{request.method} {request.url.path}\n{canonical}".encode()).hexdigest()


async def _command(
    request: Request,
    recruiter: Recruiter,
    if_match: str | None,
    idempotency_key: str | None,
) -> Command:
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 255:
        raise Problem(422, "Idempotency-Key must be 1 to 255 characters",
                      errors=[{"field": "Idempotency-Key", "message": "1 to 255 characters"}], type_="validation")
    return Command(
        recruiter=recruiter,
        by=Actor(recruiter.id, request.state.correlation_id),
        expected_version=_expected_version(if_match),
        idempotency=request.app.state.idempotency,
        idempotency_key=idempotency_key,
        # Only a key's retries are compared with the first request.
        fingerprint=await _fingerprint(request) if idempotency_key is not None else "",
    )


IfMatch = Annotated[str | None, Header(alias="If-Match", description='The version the change expects, e.g. "3".')]
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", description="Retries with this key get the first answer.")
]


async def write_command(request: Request, recruiter: Writer, if_match: IfMatch = None,
                        idempotency_key: IdempotencyKey = None) -> Command:
    return await _command(request, recruiter, if_match, idempotency_key)


async def admin_command(request: Request, recruiter: Admin, if_match: IfMatch = None,
                        idempotency_key: IdempotencyKey = None) -> Command:
    return await _command(request, recruiter, if_match, idempotency_key)


WriteCommand = Annotated[Command, Depends(write_command)]
AdminCommand = Annotated[Command, Depends(admin_command)]


# Reads of the projections.


@dataclass
class ReadSide:
    """The read models' connection pool, and the wait that makes a read see every earlier write."""

    application: FollowupApplication
    workers: Sequence[ProjectionWorker]
    pool: ConnectionPool[Any]
    schema: str
    wait_timeout: float = 5.0

    @contextmanager
    def caught_up(self, names: Sequence[str] | None = None) -> Iterator[Connection[DictRow]]:
        """A connection to query once the projections have applied the log as of now (else 503)."""
        head = self.application.recorder.max_notification_id() or 0
        for worker in self.workers:
            if names is not None and worker.name not in names:
                continue
            if not worker.wait_for(head, self.wait_timeout):
                raise Problem(503, f"the {worker.name} read model is catching up; retry shortly",
                              headers={"Retry-After": "1"}, type_="projections-behind")
        with self.pool.connection() as conn:
            yield conn

    @contextmanager
    def connection(self) -> Iterator[Connection[DictRow]]:
        with self.pool.connection() as conn:
            yield conn


async def get_read_side(request: Request) -> ReadSide:
    return request.app.state.read_side


Reads = Annotated[ReadSide, Depends(get_read_side)]


# Paging.


@dataclass(frozen=True)
class PageRequest:
    limit: int
    after: list[Any] | None  # the last sort key of the previous page, decoded


def encode_cursor(key: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(jsonable_encoder(list(key))).encode()).decode()


async def page_request(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page.")] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=2000, description="next_cursor of the previous page.")] = None,
) -> PageRequest:
    if cursor is None:
        return PageRequest(limit, None)
    try:
        after = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError):
        after = None
    if not isinstance(after, list):
        raise invalid_cursor()
    return PageRequest(limit, after)


Page = Annotated[PageRequest, Depends(page_request)]


def invalid_cursor() -> Problem:
    return Problem(422, "cursor is not one this API gave out",
                   errors=[{"field": "cursor", "message": "invalid cursor"}], type_="validation")


# PostgreSQL text cannot hold a NUL character: a query parameter with one is invalid input, not a 500.
NO_NUL = r"^[^\x00]*$"
