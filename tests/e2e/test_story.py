"""The source text's story over HTTP: an interview, thank-yous, a deadline, the check-in, the outcome, staying in touch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.rules import check_in_window

TZ = "America/New_York"


def _items(client, **params) -> list[dict]:
    response = client.get("/v1/follow-ups", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_an_interview_followed_up_from_thank_you_to_staying_in_touch(add_user):
    dana = add_user("Dana Reyes", team="story-icu")
    api = dana.client

    sam = api.post("/v1/candidates", json={"name": "Sam Ortiz", "email": "sam@example.com",
                                           "specialty": "ICU RN", "career_stage": "new_grad"}).json()["id"]
    lee = api.post("/v1/contacts", json={"name": "Jordan Lee", "company": "Mercy General",
                                         "title": "Nurse Manager"}).json()["id"]
    kim = api.post("/v1/contacts", json={"name": "Alex Kim", "company": "Mercy General"}).json()["id"]
    opened = api.post("/v1/candidacies", json={"candidate_id": sam, "company": "Mercy General",
                                               "position": "ICU RN", "timezone": TZ})
    assert opened.status_code == 201
    candidacy = opened.json()["id"]

    # The interview took place two hours ago, with two interviewers.
    held_at = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    interview = api.post(f"/v1/candidacies/{candidacy}/interviews",
                         json={"held_at": held_at.isoformat(), "interviewer_ids": [lee, kim], "format": "video"})
    assert interview.status_code == 201
    assert interview.json()["version"] == 2

    # Two thank-you notes are due, one per interviewer, within 24 hours.
    thank_yous = _items(api, candidacy_id=candidacy, kind="thank_you")
    assert {(i["contact_id"], i["status"]) for i in thank_yous} == {(lee, "due"), (kim, "due")}
    assert all(_instant(i["due_by"]) == held_at + timedelta(hours=24) for i in thank_yous)

    # One is sent: it leaves the open queue; the other is still due.
    sent = api.post(f"/v1/candidacies/{candidacy}/notes",
                    json={"contact_id": lee, "kind": "thank_you", "channel": "email"})
    assert sent.status_code == 201
    open_thank_yous = _items(api, candidacy_id=candidacy, kind="thank_you")
    assert [(i["contact_id"], i["status"]) for i in open_thank_yous] == [(kim, "due")]
    done = _items(api, candidacy_id=candidacy, kind="thank_you", status="done")
    assert [i["contact_id"] for i in done] == [lee]
    assert done[0]["done_at"] is not None

    # The employer says they will decide within three days: the check-in window follows the rules.
    interview_day = held_at.astimezone(ZoneInfo(TZ)).date()
    decide_by = interview_day + timedelta(days=3)
    stated = api.post(f"/v1/candidacies/{candidacy}/deadline", json={"decide_by": decide_by.isoformat()})
    assert stated.status_code == 201, stated.text
    window = check_in_window(held_at, decide_by, timezone=TZ, country="US")
    (check_in,) = _items(api, candidacy_id=candidacy, kind="check_in")
    assert _instant(check_in["due_from"]) == window.due_from
    assert _instant(check_in["due_by"]) == window.due_by
    assert check_in["status"] == "upcoming"
    assert check_in["contact_id"] is None
    assert check_in["reason"]

    # A check-in sent now is done, and flagged early: the stated timeline was not respected.
    checked = api.post(f"/v1/candidacies/{candidacy}/check-ins", json={"channel": "email", "contact_id": lee})
    assert checked.status_code == 201
    assert _items(api, candidacy_id=candidacy, kind="check_in") == []
    (done_check_in,) = _items(api, candidacy_id=candidacy, kind="check_in", status="done")
    assert done_check_in["flags"] == ["early"]

    # As of a minute after the interview, both thank-yous were due and nothing was done.
    earlier = _items(api, candidacy_id=candidacy, as_of=(held_at + timedelta(minutes=1)).isoformat(),
                     status=["upcoming", "due", "overdue", "done"])
    assert sorted((i["kind"], i["status"]) for i in earlier) == [
        ("check_in", "upcoming"), ("thank_you", "due"), ("thank_you", "due")]

    # The outcome: hired. No check-in is owed any more; stay in touch with both interviewers.
    outcome = api.post(f"/v1/candidacies/{candidacy}/outcome", json={"outcome": "hired"})
    assert outcome.status_code == 201
    after = _items(api, candidacy_id=candidacy)
    assert {(i["kind"], i["contact_id"]) for i in after if i["kind"] != "thank_you"} == {
        ("connect_linkedin", lee), ("connect_linkedin", kim), ("stay_in_touch", lee), ("stay_in_touch", kim)}
    stay = [i for i in after if i["kind"] == "stay_in_touch" and i["contact_id"] == kim]
    assert _instant(stay[0]["due_from"]).date() >= (held_at + timedelta(days=89)).date()

    # Connecting on LinkedIn closes that item.
    connected = api.post(f"/v1/contacts/{kim}/linkedin", json={})
    assert connected.status_code == 201
    assert ("connect_linkedin", kim) not in {(i["kind"], i["contact_id"]) for i in _items(api, candidacy_id=candidacy)}

    # The candidacy reads with its version, and its history tells the story in order.
    read = api.get(f"/v1/candidacies/{candidacy}")
    assert read.status_code == 200
    assert read.headers["etag"] == f'"{read.json()["version"]}"'
    assert read.json()["closed"] is True
    history = api.get(f"/v1/candidacies/{candidacy}/history").json()
    events = history["items"]
    assert [e["type"] for e in events] == [
        "Opened", "Interview", "NoteSent", "DeadlineStated", "CheckInSent", "OutcomeRecorded"]
    assert [e["version"] for e in events] == [1, 2, 3, 4, 5, 6]
    positions = [e["position"] for e in events]
    assert positions == sorted(positions) and len(set(positions)) == 6
    assert events[1]["position"] == interview.json()["position"]
    assert all(e["actor_id"] == dana.id for e in events)
    assert _instant(events[1]["occurred_at"]) == held_at
    assert events[1]["data"]["interviewer_ids"] == [lee, kim]
    assert events[3]["data"]["decide_by"] == decide_by.isoformat()


def test_history_is_paginated(add_user):
    api = add_user("Pat Page", team="story-paging").client
    candidate = api.post("/v1/candidates", json={"name": "Robin"}).json()["id"]
    contact = api.post("/v1/contacts", json={"name": "Casey", "company": "St. Luke"}).json()["id"]
    candidacy = api.post("/v1/candidacies", json={"candidate_id": candidate, "company": "St. Luke",
                                                  "position": "ER RN"}).json()["id"]
    start = datetime.now(UTC) - timedelta(days=20)
    for day in range(4):
        held_at = (start + timedelta(days=day)).isoformat()
        assert api.post(f"/v1/candidacies/{candidacy}/interviews",
                        json={"held_at": held_at, "interviewer_ids": [contact]}).status_code == 201
    versions, cursor = [], None
    while True:
        page = api.get(f"/v1/candidacies/{candidacy}/history",
                       params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        versions += [e["version"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert versions == [1, 2, 3, 4, 5]

    # The queue pages the same way: every item once, in due order.
    everything = ["upcoming", "due", "overdue", "done"]
    whole = _items(api, candidacy_id=candidacy, status=everything, limit=500)
    paged, cursor = [], None
    while True:
        params = {"candidacy_id": candidacy, "status": everything, "limit": 1, **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/follow-ups", params=params).json()
        paged += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == whole and len(whole) == 5  # four thank-yous and a check-in
