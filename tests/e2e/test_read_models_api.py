"""The read models over HTTP: candidates, the contact network, follow-up compliance and the audit trail."""

from __future__ import annotations

import base64
import json
import math
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import assert_problem


def _ok(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def _created(response) -> str:
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _all_pages(client, path: str, **params) -> list[list[dict]]:
    """Every page of a list, following next_cursor."""
    pages = []
    cursor = None
    while True:
        answer = _ok(client.get(path, params={**params, **({"cursor": cursor} if cursor else {})}))
        pages.append(answer["items"])
        cursor = answer["next_cursor"]
        if cursor is None:
            return pages


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text is not None else None


def _strength(touches: int, last_touch_at: datetime, now: datetime) -> float:
    return (1 - math.exp(-touches / 3)) * 0.5 ** ((now - last_touch_at).total_seconds() / 86400 / 90)


# Candidates.


def test_candidates_are_listed_by_team_page_by_page_without_gaps_or_duplicates(add_user, admin):
    ana = add_user("Ana Lopez", team="cands-north")
    ben = add_user("Ben Cho", team="cands-north")
    cy = add_user("Cy Park", team="cands-south")
    north = [
        _created(ana.client.post("/v1/candidates", json={"name": f"North {i}", "specialty": "ICU RN",
                                                         "career_stage": "new_grad"}))
        for i in range(4)
    ]
    north.append(_created(ben.client.post("/v1/candidates", json={"name": "North by Ben", "specialty": "ER RN",
                                                                  "career_stage": "experienced"})))
    south = [_created(cy.client.post("/v1/candidates", json={"name": f"South {i}"})) for i in range(2)]

    pages = _all_pages(ana.client, "/v1/candidates", limit=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    listed = [item["id"] for page in pages for item in page]
    assert listed == north  # registration order, each once

    # Each item is what GET /v1/candidates/{id} answers, name included.
    first = pages[0][0]
    assert first == _ok(ana.client.get(f"/v1/candidates/{first['id']}"))
    assert first["name"] == "North 0" and first["team"] == "cands-north"

    assert [item["id"] for item in _ok(cy.client.get("/v1/candidates"))["items"]] == south
    everyone = [item["id"] for page in _all_pages(admin, "/v1/candidates", limit=500) for item in page]
    assert set(north + south) <= set(everyone)
    assert len(everyone) == len(set(everyone))

    by_ben = _ok(ana.client.get("/v1/candidates", params={"owner_id": ben.id}))["items"]
    assert [item["id"] for item in by_ben] == north[4:]
    icu = _ok(ana.client.get("/v1/candidates", params={"specialty": "ICU RN"}))["items"]
    assert [item["id"] for item in icu] == north[:4]
    seasoned = _ok(ana.client.get("/v1/candidates", params={"career_stage": "experienced"}))["items"]
    assert [item["id"] for item in seasoned] == north[4:]

    assert_problem(ana.client.get("/v1/candidates", params={"cursor": "not-a-cursor"}), 422, "cursor")
    assert_problem(ana.client.get("/v1/candidates", params={"limit": 501}), 422, "limit")
    assert_problem(ana.client.get("/v1/candidates", params={"career_stage": "senior"}), 422, "career_stage")


# The contact network.


def test_network_contacts_show_touches_and_strength_in_the_order_they_are_due(add_user):
    eve = add_user("Eve Stone", team="network")
    api = eve.client
    company = f"Network General {uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC).replace(microsecond=0)
    never = _created(api.post("/v1/contacts", json={"name": "Never Touched", "company": company}))
    long_ago = _created(api.post("/v1/contacts", json={"name": "Long Ago", "company": company, "title": "CNO"}))
    recent = _created(api.post("/v1/contacts", json={"name": "Recent", "company": company}))
    for contact, days_ago in ((long_ago, 100), (recent, 10), (recent, 5)):
        _created(api.post(f"/v1/contacts/{contact}/notes", json={
            "kind": "helpful_info", "channel": "email", "sent_at": (now - timedelta(days=days_ago)).isoformat()}))

    pages = _all_pages(api, "/v1/network/contacts", company=company, limit=1)
    assert [len(page) for page in pages] == [1, 1, 1]
    rows = [page[0] for page in pages]
    # Never touched first, then by next touch due: the one touched 100 days ago is 10 days overdue.
    assert [row["id"] for row in rows] == [never, long_ago, recent]
    assert [row["touches"] for row in rows] == [0, 1, 2]
    assert [_instant(row["last_touch_at"]) for row in rows] == [
        None, now - timedelta(days=100), now - timedelta(days=5)]
    assert [_instant(row["next_touch_due"]) for row in rows] == [
        None, now - timedelta(days=10), now + timedelta(days=85)]
    assert rows[0]["strength"] == 0
    assert rows[1]["strength"] == pytest.approx(_strength(1, now - timedelta(days=100), now), abs=1e-3)
    assert rows[2]["strength"] == pytest.approx(_strength(2, now - timedelta(days=5), now), abs=1e-3)
    assert rows[1]["name"] == "Long Ago" and rows[1]["company"] == company

    stale = _ok(api.get("/v1/network/contacts", params={"company": company, "stale_after_days": 30}))["items"]
    assert [row["id"] for row in stale] == [never, long_ago]
    fresh_enough = _ok(api.get("/v1/network/contacts", params={"company": company, "stale_after_days": 3}))["items"]
    assert [row["id"] for row in fresh_enough] == [never, long_ago, recent]

    companies = [row for page in _all_pages(api, "/v1/network/companies", limit=1) for row in page]
    names = [row["name"] for row in companies]
    assert len(names) == len(set(names))
    (ours,) = [row for row in companies if row["name"] == company]
    assert (ours["contacts"], ours["touches"]) == (3, 3)
    assert _instant(ours["last_touch_at"]) == now - timedelta(days=5)
    assert ours["strength"] == pytest.approx(_strength(3, now - timedelta(days=5), now), abs=1e-3)

    assert_problem(api.get("/v1/network/contacts", params={"stale_after_days": -1}), 422, "stale_after_days")


def test_an_erased_contact_is_listed_last_and_owed_no_touch(add_user, admin):
    eve = add_user("Eve Erase", team="network")
    api = eve.client
    company = f"Erasure General {uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC).replace(microsecond=0)
    never = _created(api.post("/v1/contacts", json={"name": "Never Touched", "company": company}))
    erased = _created(api.post("/v1/contacts", json={"name": "Gone Soon", "company": company}))
    kept = _created(api.post("/v1/contacts", json={"name": "Kept", "company": company}))
    for contact, days_ago in ((erased, 200), (kept, 100)):
        _created(api.post(f"/v1/contacts/{contact}/notes", json={
            "kind": "helpful_info", "channel": "email", "sent_at": (now - timedelta(days=days_ago)).isoformat()}))
    before = _ok(api.get("/v1/network/contacts", params={"company": company}))["items"]
    assert [row["id"] for row in before] == [never, erased, kept]
    assert _ok(admin.request("DELETE", f"/v1/contacts/{erased}", json={"reason": "erasure request"}))["id"] == erased

    pages = _all_pages(api, "/v1/network/contacts", company=company, limit=1)
    rows = [row for page in pages for row in page]
    # Owed no stay-in-touch message any more: after every contact who is, touches kept.
    assert [row["id"] for row in rows] == [never, kept, erased]
    assert (rows[2]["name"], rows[2]["touches"], rows[2]["next_touch_due"]) == ("erased person", 1, None)
    assert _instant(rows[2]["last_touch_at"]) == now - timedelta(days=200)
    # Nor among the contacts gone stale, whom the team should reach out to.
    stale = _ok(api.get("/v1/network/contacts", params={"company": company, "stale_after_days": 30}))["items"]
    assert [row["id"] for row in stale] == [never, kept]

    # A cursor handed out before erased contacts were listed last still reads on from where it was.
    old_cursor = base64.urlsafe_b64encode(json.dumps([None, never]).encode()).decode()
    rest = _ok(api.get("/v1/network/contacts", params={"company": company, "cursor": old_cursor}))["items"]
    assert [row["id"] for row in rest] == [kept, erased]
    bad_group = base64.urlsafe_b64encode(json.dumps([7, None, never]).encode()).decode()
    assert_problem(api.get("/v1/network/contacts", params={"cursor": bad_group}), 422, "cursor")


def test_contacts_are_shared_so_every_role_reads_the_network(add_user):
    analyst = add_user("Ann Alyst", role="analyst", team="elsewhere")
    assert _ok(analyst.client.get("/v1/network/contacts"))["items"] is not None
    assert _ok(analyst.client.get("/v1/network/companies"))["items"] is not None


# Follow-up compliance.


def test_compliance_figures_for_one_on_time_and_one_late_thank_you(add_user, admin):
    fay = add_user("Fay Gold", team="compliance")
    gus = add_user("Gus Hart", team="compliance")
    outsider = add_user("Ola Out", team="compliance-other")
    now = datetime.now(UTC).replace(microsecond=0)

    # Fay's candidacy: two interviewers 20 days ago, one thanked in 2 hours, the other in 30;
    # an early check-in an hour after the interview; hired.
    lee = _created(fay.client.post("/v1/contacts", json={"name": "Jordan Lee", "company": "Compliance General"}))
    kim = _created(fay.client.post("/v1/contacts", json={"name": "Alex Kim", "company": "Compliance General"}))
    sam = _created(fay.client.post("/v1/candidates", json={"name": "Sam Ortiz"}))
    hired = _created(fay.client.post("/v1/candidacies", json={"candidate_id": sam, "company": "Compliance General",
                                                              "position": "ICU RN", "timezone": "UTC"}))
    held_at = now - timedelta(days=20)
    _created(fay.client.post(f"/v1/candidacies/{hired}/interviews",
                             json={"held_at": held_at.isoformat(), "interviewer_ids": [lee, kim]}))
    for contact, hours in ((lee, 2), (kim, 30)):
        _created(fay.client.post(f"/v1/candidacies/{hired}/notes", json={
            "contact_id": contact, "kind": "thank_you", "channel": "email",
            "sent_at": (held_at + timedelta(hours=hours)).isoformat()}))
    _created(fay.client.post(f"/v1/candidacies/{hired}/check-ins", json={
        "channel": "phone", "contact_id": lee, "sent_at": (held_at + timedelta(hours=1)).isoformat()}))
    _created(fay.client.post(f"/v1/candidacies/{hired}/outcome", json={"outcome": "hired"}))

    # Gus's candidacy: one interviewer 18 days ago, never thanked, no check-in; rejected.
    pat = _created(gus.client.post("/v1/candidates", json={"name": "Pat Quinn"}))
    rejected = _created(gus.client.post("/v1/candidacies", json={"candidate_id": pat, "company": "Compliance General",
                                                                 "position": "ER RN", "timezone": "UTC"}))
    _created(gus.client.post(f"/v1/candidacies/{rejected}/interviews", json={
        "held_at": (now - timedelta(days=18)).isoformat(), "interviewer_ids": [lee]}))
    _created(gus.client.post(f"/v1/candidacies/{rejected}/outcome", json={"outcome": "rejected"}))

    month = {"from": (now - timedelta(days=30)).isoformat(), "to": (now + timedelta(minutes=1)).isoformat()}
    answer = _ok(fay.client.get("/v1/analytics/follow-up-compliance", params=month))
    no_check_ins = {"early": 0, "on_time": 0, "late": 0, "missing": 0, "pending": 0, "not_owed": 0}
    fays = {
        "thank_yous_owed": 2, "thank_yous_on_time": 1, "thank_yous_late": 1, "thank_you_on_time_rate": 0.5,
        "median_hours_to_thank_you": 16.0, "check_ins": {**no_check_ins, "early": 1},
        "follow_ups_measured": 1, "followed_up_within_14_days": 1, "followed_up_within_14_days_share": 1.0,
        "outcomes": [{"outcome": "hired", "with_thank_you_within_24h": 1, "without_thank_you_within_24h": 0}],
    }
    guss = {
        "thank_yous_owed": 1, "thank_yous_on_time": 0, "thank_yous_late": 0, "thank_you_on_time_rate": 0.0,
        "median_hours_to_thank_you": None, "check_ins": {**no_check_ins, "missing": 1},
        "follow_ups_measured": 1, "followed_up_within_14_days": 0, "followed_up_within_14_days_share": 0.0,
        "outcomes": [{"outcome": "rejected", "with_thank_you_within_24h": 0, "without_thank_you_within_24h": 1}],
    }
    team = {
        "thank_yous_owed": 3, "thank_yous_on_time": 1, "thank_yous_late": 1,
        "thank_you_on_time_rate": pytest.approx(1 / 3), "median_hours_to_thank_you": 16.0,
        "check_ins": {**no_check_ins, "early": 1, "missing": 1},
        "follow_ups_measured": 2, "followed_up_within_14_days": 1, "followed_up_within_14_days_share": 0.5,
        "outcomes": fays["outcomes"] + guss["outcomes"],
    }
    # A recruiter sees their team only: the overall figures are the team's.
    assert answer["overall"] == team
    assert answer["teams"] == [{"team": "compliance", **team}]
    recruiters = {row.pop("recruiter_id"): row for row in answer["recruiters"]}
    assert recruiters == {fay.id: {"team": "compliance", **fays}, gus.id: {"team": "compliance", **guss}}

    # Filters: one recruiter; a range holding only Gus's interview; an admin asking for the team.
    only_fay = _ok(fay.client.get("/v1/analytics/follow-up-compliance", params={**month, "recruiter_id": fay.id}))
    assert only_fay["overall"] == fays
    later = {**month, "from": (now - timedelta(days=19)).isoformat()}
    assert _ok(fay.client.get("/v1/analytics/follow-up-compliance", params=later))["overall"] == guss
    by_admin = _ok(admin.get("/v1/analytics/follow-up-compliance", params={**month, "team": "compliance"}))
    assert by_admin["overall"] == team

    # Another team's figures are not the caller's to see; the other team sees none of these.
    assert_problem(outsider.client.get("/v1/analytics/follow-up-compliance", params={**month, "team": "compliance"}),
                   404)
    theirs = _ok(outsider.client.get("/v1/analytics/follow-up-compliance", params=month))
    assert theirs["overall"]["thank_yous_owed"] == 0 and theirs["teams"] == [] and theirs["recruiters"] == []
    assert_problem(fay.client.get("/v1/analytics/follow-up-compliance",
                                  params={"from": month["to"], "to": month["from"]}), 422, "from")
    assert_problem(fay.client.get("/v1/analytics/follow-up-compliance", params={"from": "2026-01-01T00:00:00",
                                                                                "to": month["to"]}), 422, "from")


# The audit trail.


def test_audit_lists_an_actors_events_by_position_and_recorded_time(add_user, admin):
    ivy = add_user("Ivy Nash", team="audit")
    analyst = add_user("Al Lyst", role="analyst", team="audit")
    candidate = _created(ivy.client.post("/v1/candidates", json={"name": "Audited One"}))
    contact = _created(ivy.client.post("/v1/contacts", json={"name": "Audited Contact", "company": "Audit Co"}))
    _created(ivy.client.post(f"/v1/contacts/{contact}/notes", json={"kind": "congratulations", "channel": "email"}))

    events = [event for page in _all_pages(admin, "/v1/audit", actor_id=ivy.id, limit=1) for event in page]
    assert [(e["type"], e["aggregate_type"], e["stream"], e["version"]) for e in events] == [
        ("Registered", "Candidate", candidate, 1), ("Added", "Contact", contact, 1),
        ("NoteSent", "Contact", contact, 2)]
    positions = [e["position"] for e in events]
    assert positions == sorted(positions)
    assert all(e["actor_id"] == ivy.id and e["correlation_id"] and e["occurred_at"] for e in events)

    # Recorded-time range: from inclusive, to exclusive.
    window = {"actor_id": ivy.id, "from": events[1]["recorded_at"], "to": events[2]["recorded_at"]}
    assert [e["position"] for e in _ok(analyst.client.get("/v1/audit", params=window))["items"]] == positions[1:2]
    since = {"actor_id": ivy.id, "from": events[1]["recorded_at"]}
    assert [e["position"] for e in _ok(admin.get("/v1/audit", params=since))["items"]] == positions[1:]
    by_type = _ok(admin.get("/v1/audit", params={"actor_id": ivy.id, "type": "NoteSent"}))["items"]
    assert [e["position"] for e in by_type] == positions[2:]
    by_stream = _ok(admin.get("/v1/audit", params={"stream": contact}))["items"]
    assert [e["position"] for e in by_stream] == positions[1:]

    assert_problem(ivy.client.get("/v1/audit"), 403)
    assert_problem(admin.get("/v1/audit", params={"cursor": "WyJ4Il0="}), 422, "cursor")  # ["x"]


# Read your writes.


def test_each_list_sees_the_write_acknowledged_just_before_it(add_user, admin):
    jo = add_user("Jo Fast", team="ryw")
    for _ in range(3):
        candidate = _created(jo.client.post("/v1/candidates", json={"name": "Just Registered"}))
        assert [item["id"] for item in _ok(jo.client.get("/v1/candidates", params={"owner_id": jo.id}))["items"]][-1] \
            == candidate
        company = f"Fresh {uuid.uuid4().hex[:8]}"
        contact = _created(jo.client.post("/v1/contacts", json={"name": "Just Added", "company": company}))
        _created(jo.client.post(f"/v1/contacts/{contact}/notes", json={"kind": "helpful_info", "channel": "email"}))
        (row,) = _ok(jo.client.get("/v1/network/contacts", params={"company": company}))["items"]
        assert (row["id"], row["touches"]) == (contact, 1)
        last = _ok(admin.get("/v1/audit", params={"stream": contact}))["items"][-1]
        assert (last["type"], last["version"]) == ("NoteSent", 2)
