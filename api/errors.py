"""Every error the API answers, as application/problem+json (RFC 9457), mapped in this one place."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from contextvars import ContextVar
from http import HTTPStatus
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import CandidacyClosed, DomainError, Erased, InvalidCommand, NotFound, VersionConflict

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://followup.example/problems/"

# The database is away, its connections were cut, or every pooled connection is busy past the pool's timeout
# (psycopg_pool.PoolTimeout is a psycopg.OperationalError): the client may retry, nothing was half stored.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)
RETRY_AFTER_SECONDS = "2"

# The current request's correlation id, so a 500 raised anywhere can name it.
correlation_id_var: ContextVar[str] = ContextVar("correlation_id", default="")


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_JSON


class Problem(Exception):
    """An HTTP error a route or dependency raises on purpose."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: Sequence[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        type_: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = list(errors) if errors is not None else None
        self.headers = headers or {}
        self.type_ = type_


def problem_body(
    status: int, detail: str, *, errors: Sequence[dict[str, str]] | None = None, type_: str | None = None
) -> dict[str, Any]:
    title = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + (type_ or title.lower().replace(" ", "-")),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = list(errors)
    return body


def problem_response(problem: Problem) -> ProblemResponse:
    body = problem_body(problem.status, problem.detail, errors=problem.errors, type_=problem.type_)
    return ProblemResponse(body, status_code=problem.status, headers=problem.headers)


def domain_problem(error: DomainError) -> Problem:
    """The HTTP meaning of a refused command."""
    errors = [{"field": error.field, "message": error.message}] if error.field else None
    if isinstance(error, InvalidCommand):  # UnknownReference included
        return Problem(422, error.message, errors=errors or [], type_="invalid-command")
    if isinstance(error, NotFound):
        return Problem(404, error.message)
    if isinstance(error, VersionConflict):
        return Problem(409, error.message, type_="version-conflict")
    if isinstance(error, CandidacyClosed):
        return Problem(409, error.message, type_="candidacy-closed")
    if isinstance(error, Erased):
        return Problem(410, error.message, type_="erased")
    return Problem(422, error.message, errors=errors)


def database_unavailable_problem() -> Problem:
    return Problem(503, "the database is unavailable or busy; retry shortly",
                   headers={"Retry-After": RETRY_AFTER_SECONDS}, type_="database-unavailable")


def _field_name(loc: Sequence[Any]) -> str:
    # ("body", "held_at") -> "held_at"; ("query", "limit") -> "limit"; ("header", "if-match") -> "if-match".
    parts = [str(part) for part in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def validation_problem(exc: RequestValidationError) -> Problem:
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return Problem(400, "the request body is not valid JSON", type_="malformed-json")
    fields = [{"field": _field_name(error.get("loc", ())), "message": error.get("msg", "invalid")} for error in errors]
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return Problem(422, detail, errors=fields, type_="validation")


async def _on_problem(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, Problem)
    return problem_response(exc)


async def _on_domain_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, DomainError)
    return problem_response(domain_problem(exc))


async def _on_validation_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    return problem_response(validation_problem(exc))


async def _on_database_unavailable(request: Request, exc: Exception) -> ProblemResponse:
    # The exception's text names hosts and ports, not people: the class and the request are enough to trace it.
    log.warning("database unavailable (%s), correlation id %s, %s %s",
                type(exc).__name__, correlation_id_var.get(), request.method, request.url.path)
    return problem_response(database_unavailable_problem())


async def _on_http_exception(request: Request, exc: Exception) -> ProblemResponse:
    # Starlette's own answers: unknown routes (404), unknown methods (405).
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no resource at {request.url.path}"
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    return problem_response(Problem(exc.status_code, detail, headers=dict(exc.headers or {})))


def internal_error_body(correlation_id: str) -> bytes:
    body = problem_body(500, f"an unexpected error occurred; quote correlation id {correlation_id} to support")
    body["correlation_id"] = correlation_id
    return json.dumps(body).encode()


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(DomainError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    for error_class in DATABASE_UNAVAILABLE:
        app.add_exception_handler(error_class, _on_database_unavailable)
