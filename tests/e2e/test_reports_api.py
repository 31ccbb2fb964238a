"""GET /v1/reports/{name} over HTTP: JSON and CSV, a team's own rows only, the audit trail for admins and analysts."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import assert_problem

PAST = (datetime.now(UTC) - timedelta(days=3)).replace(microsecond=0)


@pytest.fixture(scope="module")
def teams(add_user):
    """Two teams, each with a candidacy whose thank-you is overdue."""
    made = {}
    for name, team in (("Rita Reports", "reports-icu"), ("Omar Other", "reports-er")):
        user = add_user(name, team=team)
        client = user.client
        candidate = client.post("/v1/candidates", json={"name": f"{name}'s candidate"}).json()["id"]
        contact = client.post("/v1/contacts", json={"name": f"{name}'s contact", "company": f"{team} Hospital"}
                              ).json()["id"]
        candidacy = client.post("/v1/candidacies", json={"candidate_id": candidate, "company": "Mercy",
                                                         "position": "ICU RN"}).json()["id"]
        response = client.post(f"/v1/candidacies/{candidacy}/interviews",
                               json={"held_at": PAST.isoformat(), "interviewer_ids": [contact]})
        assert response.status_code == 201, response.text
        made[team] = {"user": user, "candidacy": candidacy, "contact": contact}
    return made


def test_follow_ups_json_shows_the_callers_team_only(teams):
    own = teams["reports-icu"]
    response = own["user"].client.get("/v1/reports/follow-ups")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["report"] == "follow-ups"
    assert {"as_of", "known_at", "rows", "figures"} <= body.keys()
    assert {row["team"] for row in body["rows"]} == {"reports-icu"}
    assert {row["candidacy_id"] for row in body["rows"]} == {own["candidacy"]}
    overdue = [row for row in body["rows"] if row["kind"] == "thank_you"]
    assert [row["status"] for row in overdue] == ["overdue"]
    assert overdue[0]["candidate"] == "Rita Reports's candidate"


def test_as_known_before_the_interview_was_recorded_there_is_nothing(teams):
    client = teams["reports-icu"]["user"].client
    before = (PAST - timedelta(days=1)).isoformat()
    response = client.get("/v1/reports/follow-ups", params={"known_at": before})
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == []


def test_compliance_csv(teams):
    client = teams["reports-icu"]["user"].client
    response = client.get("/v1/reports/compliance", params={"format": "csv"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {row["team"] for row in rows} == {"reports-icu"}
    team_row = next(row for row in rows if row["level"] == "team")
    assert team_row["thank_yous_owed"] == "1" and team_row["thank_yous_on_time"] == "0"


def test_a_recruiter_cannot_ask_for_another_team(teams):
    client = teams["reports-icu"]["user"].client
    assert_problem(client.get("/v1/reports/follow-ups", params={"team": "reports-er"}), 403)


def test_an_admin_sees_every_team_or_one(admin, teams):
    every = admin.get("/v1/reports/follow-ups").json()["rows"]
    assert {"reports-icu", "reports-er"} <= {row["team"] for row in every}
    one = admin.get("/v1/reports/network", params={"team": "reports-er"}).json()
    assert [row["company"] for row in one["rows"]] == ["reports-er Hospital"]


def test_the_audit_report_is_for_admins_and_analysts(admin, add_user, teams):
    own = teams["reports-icu"]
    assert_problem(own["user"].client.get("/v1/reports/audit"), 403)
    analyst = add_user("Ana Reports", role="analyst", team="reports-icu").client
    response = analyst.get("/v1/reports/audit", params={"stream_id": own["candidacy"], "type": "Interview"})
    assert response.status_code == 200, response.text
    [row] = response.json()["rows"]
    assert row["actor_id"] == own["user"].id
    assert row["actor"] == "Rita Reports"
    assert {"position", "recorded_at", "occurred_at", "correlation_id"} <= row.keys()


def test_errors_are_problems(admin):
    assert_problem(admin.get("/v1/reports/nonsense"), 422)
    assert_problem(admin.get("/v1/reports/follow-ups", params={"as_of": "2026-11-16T12:00:00"}), 422, "as_of")
    assert_problem(admin.get("/v1/reports/follow-ups", params={"format": "xml"}), 422)
