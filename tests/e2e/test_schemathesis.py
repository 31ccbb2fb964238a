"""Property-based tests of every operation of the OpenAPI schema against the real server, as an admin."""

from __future__ import annotations

import time

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import Server

MAX_RESPONSE_SECONDS = 2.0
# The whole run's budget: once spent, the remaining examples are not sent.
BUDGET_SECONDS = 60.0
EXAMPLES_PER_OPERATION = 15
REQUEST_TIMEOUT_SECONDS = 10.0


def errors_are_problems(ctx, response, case) -> None:
    """Every 4xx and 5xx answer is an RFC 9457 problem."""
    if response.status_code >= 400:
        content_type = (response.headers.get("content-type") or [""])[0]
        if not content_type.startswith("application/problem+json"):
            raise AssertionError(f"a {response.status_code} answered {content_type!r}, not application/problem+json")


def answers_quickly(ctx, response, case) -> None:
    if response.elapsed > MAX_RESPONSE_SECONDS:
        raise AssertionError(f"the answer took {response.elapsed:.2f}s, over {MAX_RESPONSE_SECONDS}s")


CHECKS = [not_a_server_error, errors_are_problems, answers_quickly]
# These operations document their error answers too, so they answer exactly as documented:
# statuses, content types and bodies.
FULLY_DOCUMENTED = {"GET /v1/candidates", "POST /v1/candidates", "GET /v1/candidates/{candidate_id}",
                    "GET /v1/network/contacts", "GET /v1/network/companies",
                    "GET /v1/analytics/follow-up-compliance", "GET /v1/audit"}
CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance]


def test_no_operation_fails_on_valid_or_invalid_input(server: Server) -> None:
    # Each operation is driven with Hypothesis directly (schemathesis's own pytest integration
    # needs pytest internals that pytest 9.2 renamed), valid inputs first, then invalid ones.
    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    deadline = time.monotonic() + BUDGET_SECONDS
    failures: list[str] = []
    sent = 0
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        for result in schema.get_all_operations():
            operation = result.ok()
            if time.monotonic() > deadline:
                break

            checks = CHECKS + CONFORMANCE if operation.label in FULLY_DOCUMENTED else CHECKS

            @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case) -> None:
                nonlocal sent
                sent += 1
                case.call_and_validate(headers=headers, timeout=REQUEST_TIMEOUT_SECONDS, checks=checks)

            try:
                call()
            except Unsatisfiable:
                pass  # no invalid input exists for an operation without parameters (GET /healthz)
            except Exception as failure:  # noqa: BLE001 - gather every operation's failure, then report them all
                failures.append(f"{mode.value} {operation.label}: {failure}")
    assert sent > 100, f"only {sent} requests were sent"
    assert not failures, "\n\n".join(failures)
