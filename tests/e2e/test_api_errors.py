"""Every refusal of DESIGN §4 over HTTP: status, problem+json body, and the field at fault."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.e2e.conftest import assert_problem

PAST = (datetime.now(UTC) - timedelta(days=3)).replace(microsecond=0)
FUTURE = datetime.now(UTC) + timedelta(days=3)


@pytest.fixture(scope="module")
def world(add_user):
    """A recruiter with a candidate, two contacts, and a candidacy with one interview by `lee`."""
    dana = add_user("Dana Errors", team="errors-icu")
    api = dana.client
    candidate = api.post("/v1/candidates", json={"name": "Sam"}).json()["id"]
    lee = api.post("/v1/contacts", json={"name": "Lee", "company": "Mercy"}).json()["id"]
    kim = api.post("/v1/contacts", json={"name": "Kim", "company": "Mercy"}).json()["id"]
    candidacy = api.post("/v1/candidacies", json={"candidate_id": candidate, "company": "Mercy",
                                                  "position": "ICU RN"}).json()["id"]
    assert api.post(f"/v1/candidacies/{candidacy}/interviews",
                    json={"held_at": PAST.isoformat(), "interviewer_ids": [lee]}).status_code == 201
    return {"api": api, "candidate": candidate, "lee": lee, "kim": kim, "candidacy": candidacy}


# (name, path template, body, status, field)
INVALID_INPUT = [
    ("future held_at", "/v1/candidacies/{candidacy}/interviews",
     {"held_at": FUTURE.isoformat(), "interviewer_ids": ["{lee}"]}, 422, "held_at"),
    ("naive held_at", "/v1/candidacies/{candidacy}/interviews",
     {"held_at": "2026-01-05T10:00:00", "interviewer_ids": ["{lee}"]}, 422, "held_at"),
    ("numeric held_at", "/v1/candidacies/{candidacy}/interviews",
     {"held_at": 1767600000, "interviewer_ids": ["{lee}"]}, 422, "held_at"),
    ("no interviewers", "/v1/candidacies/{candidacy}/interviews",
     {"held_at": PAST.isoformat(), "interviewer_ids": []}, 422, "interviewer_ids"),
    ("unknown interviewer", "/v1/candidacies/{candidacy}/interviews",
     {"held_at": PAST.isoformat(), "interviewer_ids": [str(uuid.uuid4())]}, 422, "interviewer_ids"),
    ("future sent_at", "/v1/candidacies/{candidacy}/notes",
     {"contact_id": "{lee}", "kind": "thank_you", "channel": "email", "sent_at": FUTURE.isoformat()}, 422, "sent_at"),
    ("thank-you to a non-interviewer", "/v1/candidacies/{candidacy}/notes",
     {"contact_id": "{kim}", "kind": "thank_you", "channel": "email"}, 422, "contact_id"),
    ("unknown contact in a note", "/v1/candidacies/{candidacy}/notes",
     {"contact_id": str(uuid.uuid4()), "kind": "thank_you", "channel": "email"}, 422, "contact_id"),
    ("unknown channel", "/v1/candidacies/{candidacy}/notes",
     {"contact_id": "{lee}", "kind": "thank_you", "channel": "pigeon"}, 422, "channel"),
    ("decide_by before the interview", "/v1/candidacies/{candidacy}/deadline",
     {"decide_by": (PAST - timedelta(days=2)).date().isoformat()}, 422, "decide_by"),
    ("decide_by not a date", "/v1/candidacies/{candidacy}/deadline", {"decide_by": "soon"}, 422, "decide_by"),
    ("unknown candidate", "/v1/candidacies",
     {"candidate_id": str(uuid.uuid4()), "company": "Mercy", "position": "RN"}, 422, "candidate_id"),
    ("unknown time zone", "/v1/candidacies",
     {"candidate_id": "{candidate}", "company": "Mercy", "position": "RN", "timezone": "Mars/Olympus"},
     422, "timezone"),
    ("unknown field", "/v1/candidates", {"name": "Sam", "nickname": "S"}, 422, "nickname"),
    ("missing name", "/v1/candidates", {"email": "sam@example.com"}, 422, "name"),
    ("bad email", "/v1/candidates", {"name": "Sam", "email": "not-an-email"}, 422, "email"),
    ("name too long", "/v1/contacts", {"name": "x" * 201, "company": "Mercy"}, 422, "name"),
    ("thank-you on the contact route", "/v1/contacts/{lee}/notes", {"kind": "thank_you", "channel": "email"},
     422, "kind"),
    ("check-in with no interview before it", "/v1/candidacies/{candidacy}/check-ins",
     {"channel": "email", "sent_at": (PAST - timedelta(days=1)).isoformat()}, 422, "sent_at"),
    ("unknown outcome", "/v1/candidacies/{candidacy}/outcome", {"outcome": "maybe"}, 422, "outcome"),
]


def _fill(value, world):
    if isinstance(value, str):
        return value.format(**{k: v for k, v in world.items() if isinstance(v, str)})
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("path", "body", "status", "field"), [case[1:] for case in INVALID_INPUT],
                         ids=[case[0] for case in INVALID_INPUT])
def test_invalid_input_is_refused_naming_the_field(world, path, body, status, field):
    response = world["api"].post(_fill(path, world), json=_fill(body, world))
    assert_problem(response, status, field)


def test_nothing_partial_is_stored_by_a_refusal(world):
    history = world["api"].get(f"/v1/candidacies/{world['candidacy']}/history").json()["items"]
    assert [e["type"] for e in history] == ["Opened", "Interview"]


def test_no_key_or_a_bad_key_is_401(server):
    with httpx.Client(base_url=server.base_url) as anonymous:
        assert_problem(anonymous.get("/v1/follow-ups"), 401)
        assert_problem(anonymous.get("/metrics"), 401)
        assert_problem(anonymous.get("/v1/follow-ups", headers={"Authorization": "Bearer fu_nope"}), 401)
        assert_problem(anonymous.get("/v1/follow-ups", headers={"Authorization": "Basic abc"}), 401)
        assert anonymous.get("/healthz").status_code == 200


def test_unknown_resources_routes_and_methods(world):
    api = world["api"]
    assert_problem(api.get(f"/v1/candidacies/{uuid.uuid4()}"), 404)
    assert_problem(api.get(f"/v1/candidates/{uuid.uuid4()}"), 404)
    assert_problem(api.get(f"/v1/contacts/{uuid.uuid4()}"), 404)
    assert_problem(api.post(f"/v1/candidacies/{uuid.uuid4()}/outcome", json={"outcome": "hired"}), 404)
    assert_problem(api.get("/v1/no-such-thing"), 404)
    assert_problem(api.delete(f"/v1/candidacies/{world['candidacy']}"), 405)
    assert_problem(api.get("/v1/candidacies/not-a-uuid"), 422, "candidacy_id")


def test_malformed_json_and_oversized_bodies(world):
    api = world["api"]
    assert_problem(api.post("/v1/candidates", content=b'{"name": ', headers={"Content-Type": "application/json"}), 400)
    big = {"name": "Sam", "specialty": "x" * 70_000}
    assert_problem(api.post("/v1/candidates", json=big), 413)

    def streamed():  # no Content-Length: the limit holds on the streamed size too
        yield b'{"name": "Sam", "specialty": "'
        for _ in range(70):
            yield b"x" * 1024
        yield b'"}'

    assert_problem(api.post("/v1/candidates", content=streamed(), headers={"Content-Type": "application/json"}), 413)


def test_version_conflicts_and_closed_candidacies_are_409(world, add_user):
    api = world["api"]
    candidacy = api.post("/v1/candidacies", json={"candidate_id": world["candidate"], "company": "Mercy",
                                                  "position": "Charge RN"}).json()["id"]
    version = api.get(f"/v1/candidacies/{candidacy}").headers["etag"]
    assert version == '"1"'
    body = {"held_at": PAST.isoformat(), "interviewer_ids": [world["lee"]]}
    assert_problem(api.post(f"/v1/candidacies/{candidacy}/interviews", json=body, headers={"If-Match": '"7"'}), 409)
    accepted = api.post(f"/v1/candidacies/{candidacy}/interviews", json=body, headers={"If-Match": version})
    assert accepted.status_code == 201
    assert accepted.headers["etag"] == '"2"'
    assert_problem(api.post(f"/v1/candidacies/{candidacy}/interviews", json=body, headers={"If-Match": "soon"}),
                   422, "If-Match")

    assert api.post(f"/v1/candidacies/{candidacy}/outcome", json={"outcome": "rejected"}).status_code == 201
    closed = assert_problem(api.post(f"/v1/candidacies/{candidacy}/interviews", json=body), 409)
    assert "rejected" in closed["detail"]
    assert_problem(api.post(f"/v1/candidacies/{candidacy}/outcome", json={"outcome": "hired"}), 409)


def test_correlation_id_is_echoed_and_recorded(world):
    api = world["api"]
    response = api.post(f"/v1/candidacies/{world['candidacy']}/deadline",
                        json={"decide_by": (PAST + timedelta(days=5)).date().isoformat()},
                        headers={"X-Correlation-Id": "req-42"})
    assert response.status_code == 201
    assert response.headers["x-correlation-id"] == "req-42"
    history = api.get(f"/v1/candidacies/{world['candidacy']}/history").json()["items"]
    assert history[-1]["type"] == "DeadlineStated"
    assert history[-1]["correlation_id"] == "req-42"
    assert api.get("/healthz").headers["x-correlation-id"]


def test_bad_paging_is_422(world):
    api = world["api"]
    assert_problem(api.get("/v1/follow-ups", params={"limit": 501}), 422, "limit")
    assert_problem(api.get("/v1/follow-ups", params={"limit": 0}), 422, "limit")
    assert_problem(api.get("/v1/follow-ups", params={"cursor": "!!!"}), 422, "cursor")
    assert_problem(api.get("/v1/follow-ups", params={"as_of": "2026-01-05T10:00:00"}), 422, "as_of")
    assert_problem(api.get("/v1/follow-ups", params={"status": "late"}), 422, "status")


def test_metrics_count_requests_by_route_template(world):
    text = world["api"].get("/metrics").text
    assert 'route="/v1/candidacies/{candidacy_id}/interviews"' in text
    assert "followup_http_request_duration_seconds_bucket" in text
    assert 'followup_projection_lag_events{projection="follow_up_queue"}' in text
