"""The API app in-process on real PostgreSQL: the last-resort 500 and the 503 of a read model that lags."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.application import Actor
from domain.values import Role
from infra.settings import Settings


@pytest.fixture
def client(settings: Settings):
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        application = client.app.state.application
        added = application.add_recruiter("Admin", Role.ADMIN, None, by=Actor(uuid.UUID(int=1), "test"))
        client.headers["Authorization"] = f"Bearer {added.api_key}"
        yield client


def test_an_unexpected_error_is_a_500_problem_with_a_correlation_id_and_no_trace(client, caplog):
    def broken(contact_id):
        raise RuntimeError("secret internals")

    client.app.state.application.get_contact = broken
    response = client.get(f"/v1/contacts/{uuid.uuid4()}", headers={"X-Correlation-Id": "trace-me"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["correlation_id"] == "trace-me"
    assert "secret internals" not in response.text and "Traceback" not in response.text
    assert any("trace-me" in record.getMessage() and record.exc_info for record in caplog.records)


def test_a_query_answers_503_when_the_projections_do_not_catch_up(client):
    read_side = client.app.state.read_side
    client.app.state.follower.stop()
    read_side.wait_timeout = 0.2
    assert client.post("/v1/candidates", json={"name": "Sam"}).status_code == 201
    response = client.get("/v1/follow-ups")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["status"] == 503
