"""Who may do what: every endpoint x role x own or other team, and keys that are rotated or deactivated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import assert_problem

PAST = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=0)


@pytest.fixture(scope="module")
def teams(add_user, admin):
    """Team "north" owns a candidate and a candidacy; "south" is another team; contacts are shared."""
    users = {
        "admin": admin,
        "own recruiter": add_user("Nora North", team="north").client,
        "other recruiter": add_user("Sid South", team="south").client,
        "own analyst": add_user("Ana North", role="analyst", team="north").client,
        "other analyst": add_user("Ada South", role="analyst", team="south").client,
    }
    north = users["own recruiter"]
    candidate = north.post("/v1/candidates", json={"name": "Quinn"}).json()["id"]
    contact = north.post("/v1/contacts", json={"name": "Morgan", "company": "Bayside"}).json()["id"]
    candidacy = north.post("/v1/candidacies", json={"candidate_id": candidate, "company": "Bayside",
                                                    "position": "PACU RN"}).json()["id"]
    assert north.post(f"/v1/candidacies/{candidacy}/interviews",
                      json={"held_at": PAST.isoformat(), "interviewer_ids": [contact]}).status_code == 201
    closing = north.post("/v1/candidacies", json={"candidate_id": candidate, "company": "Bayside",
                                                  "position": "OR RN"}).json()["id"]
    target = add_user("Tara Target", team="north").id
    erasable_candidate = north.post("/v1/candidates", json={"name": "Erin"}).json()["id"]
    erasable_contact = north.post("/v1/contacts", json={"name": "Ezra", "company": "Bayside"}).json()["id"]
    return {"users": users, "candidate": candidate, "contact": contact, "candidacy": candidacy,
            "closing": closing, "target": target, "erasable_candidate": erasable_candidate,
            "erasable_contact": erasable_contact}


ROLES = ["admin", "own recruiter", "other recruiter", "own analyst", "other analyst"]

# (method, path, body or None, expected status per role in ROLES' order)
MATRIX = [
    ("GET", "/healthz", None, [200, 200, 200, 200, 200]),
    ("GET", "/metrics", None, [200, 200, 200, 200, 200]),
    ("GET", "/v1/candidates", None, [200, 200, 200, 200, 200]),  # lists are scoped: see the test below
    ("GET", "/v1/candidates/{candidate}", None, [200, 200, 404, 200, 404]),
    ("GET", "/v1/candidacies/{candidacy}", None, [200, 200, 404, 200, 404]),
    ("GET", "/v1/candidacies/{candidacy}/history", None, [200, 200, 404, 200, 404]),
    ("GET", "/v1/contacts/{contact}", None, [200, 200, 200, 200, 200]),
    ("GET", "/v1/follow-ups", None, [200, 200, 200, 200, 200]),
    ("GET", "/v1/network/contacts", None, [200, 200, 200, 200, 200]),
    ("GET", "/v1/network/companies", None, [200, 200, 200, 200, 200]),
    ("GET", "/v1/analytics/follow-up-compliance?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z", None, [200, 200, 200, 200, 200]),
    ("GET", "/v1/audit", None, [200, 403, 403, 200, 200]),
    ("GET", "/v1/reports/follow-ups", None, [200, 200, 200, 200, 200]),
    ("GET", "/v1/reports/compliance", None, [200, 200, 200, 200, 200]),
    ("GET", "/v1/reports/network", None, [200, 200, 200, 200, 200]),
    ("GET", "/v1/reports/audit?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z", None, [200, 403, 403, 200, 200]),
    ("POST", "/v1/candidates", {"name": "Taylor"}, [201, 201, 201, 403, 403]),
    ("POST", "/v1/contacts", {"name": "Riley", "company": "Bayside"}, [201, 201, 201, 403, 403]),
    ("POST", "/v1/contacts/{contact}/notes", {"kind": "helpful_info", "channel": "email"},
     [201, 201, 201, 403, 403]),
    ("POST", "/v1/contacts/{contact}/linkedin", {}, [201, 201, 201, 403, 403]),
    ("POST", "/v1/candidacies", {"candidate_id": "{candidate}", "company": "Bayside", "position": "RN"},
     [201, 201, 422, 403, 403]),
    ("POST", "/v1/candidacies/{candidacy}/interviews",
     {"held_at": PAST.isoformat(), "interviewer_ids": ["{contact}"]}, [201, 201, 404, 403, 403]),
    ("POST", "/v1/candidacies/{candidacy}/deadline", {"decide_by": (PAST + timedelta(days=10)).date().isoformat()},
     [201, 201, 404, 403, 403]),
    ("POST", "/v1/candidacies/{candidacy}/notes", {"contact_id": "{contact}", "kind": "thank_you",
                                                   "channel": "email"}, [201, 201, 404, 403, 403]),
    ("POST", "/v1/candidacies/{candidacy}/check-ins", {"channel": "phone"}, [201, 201, 404, 403, 403]),
    # The admin closes it first, so the own recruiter's attempt is let in and refused as closed (409).
    ("POST", "/v1/candidacies/{closing}/outcome", {"outcome": "rejected"}, [201, 409, 404, 403, 403]),
    ("POST", "/v1/recruiters", {"name": "Eve", "role": "recruiter", "team": "north"}, [201, 403, 403, 403, 403]),
    ("POST", "/v1/recruiters/{target}/rotate-key", None, [201, 403, 403, 403, 403]),
    ("POST", "/v1/recruiters/{target}/deactivate", None, [201, 403, 403, 403, 403]),
    ("DELETE", "/v1/candidates/{erasable_candidate}?reason=request", None, [200, 403, 403, 403, 403]),
    ("DELETE", "/v1/contacts/{erasable_contact}?reason=request", None, [200, 403, 403, 403, 403]),
]


def _fill(value, ids):
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("method", "path", "body", "expected"), MATRIX, ids=[f"{m} {p.split('?')[0]}" for m, p, _, _ in MATRIX])
def test_role_and_team_decide_what_a_caller_may_do(teams, method, path, body, expected):
    ids = {k: v for k, v in teams.items() if isinstance(v, str)}
    for role, status in zip(ROLES, expected, strict=True):
        client = teams["users"][role]
        response = client.request(method, _fill(path, ids), json=_fill(body, ids) if body is not None else None)
        assert response.status_code == status, (role, response.text)
        if status >= 400:
            assert_problem(response, status)


def test_lists_never_show_another_teams_items(teams):
    users = teams["users"]
    params = {"candidacy_id": teams["candidacy"], "status": ["upcoming", "due", "overdue", "done"]}
    assert users["own recruiter"].get("/v1/follow-ups", params=params).json()["items"]
    assert users["own analyst"].get("/v1/follow-ups", params=params).json()["items"]
    assert users["admin"].get("/v1/follow-ups", params=params).json()["items"]
    assert users["other recruiter"].get("/v1/follow-ups", params=params).json()["items"] == []
    as_of = {**params, "as_of": datetime.now(UTC).isoformat()}
    assert users["other recruiter"].get("/v1/follow-ups", params=as_of).json()["items"] == []
    assert users["own recruiter"].get("/v1/follow-ups", params=as_of).json()["items"]


def test_rotated_and_deactivated_keys_stop_working_at_once(add_user, admin):
    user = add_user("Rory Rotate", team="rotation")
    assert user.client.get("/v1/follow-ups").status_code == 200
    rotated = admin.post(f"/v1/recruiters/{user.id}/rotate-key")
    assert rotated.status_code == 201
    new_key = rotated.json()["api_key"]
    assert new_key != user.key
    assert_problem(user.client.get("/v1/follow-ups"), 401)
    user.client.headers["Authorization"] = f"Bearer {new_key}"
    assert user.client.get("/v1/follow-ups").status_code == 200

    assert_problem(user.client.post(f"/v1/recruiters/{user.id}/deactivate"), 403)
    assert admin.post(f"/v1/recruiters/{user.id}/deactivate").status_code == 201
    assert_problem(user.client.get("/v1/follow-ups"), 401)


def test_the_table_covers_every_operation(server):
    import httpx

    spec = httpx.get(f"{server.base_url}/openapi.json").json()
    operations = {(method.upper(), path) for path, methods in spec["paths"].items() for method in methods}
    covered = {(method, path.split("?")[0]) for method, path, _, _ in MATRIX}
    generic = {(m, p.replace("{erasable_candidate}", "{candidate_id}").replace("{erasable_contact}", "{contact_id}")
                .replace("{candidate}", "{candidate_id}").replace("{candidacy}", "{candidacy_id}")
                .replace("{closing}", "{candidacy_id}").replace("{contact}", "{contact_id}")
                .replace("{target}", "{recruiter_id}")) for m, p in covered}
    generic |= {(m, p.replace("/follow-ups", "/{name}").replace("/compliance", "/{name}")
                 .replace("/network", "/{name}").replace("/audit", "/{name}"))
                for m, p in generic if p.startswith("/v1/reports/")}
    assert operations <= generic, operations - generic
