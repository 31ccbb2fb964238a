"""Retries, races and read-your-writes: idempotency keys, If-Match under concurrency, queries after commands."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import assert_problem

PAST = (datetime.now(UTC) - timedelta(hours=5)).replace(microsecond=0)


@pytest.fixture(scope="module")
def world(add_user):
    user = add_user("Cory Consistent", team="consistency")
    api = user.client
    candidate = api.post("/v1/candidates", json={"name": "Jesse"}).json()["id"]
    contact = api.post("/v1/contacts", json={"name": "Drew", "company": "Valley"}).json()["id"]
    return {"user": user, "api": api, "candidate": candidate, "contact": contact}


def _candidacy(world) -> str:
    response = world["api"].post("/v1/candidacies", json={"candidate_id": world["candidate"], "company": "Valley",
                                                          "position": "Med-Surg RN"})
    assert response.status_code == 201
    return response.json()["id"]


def _types(world, candidacy: str) -> list[str]:
    return [e["type"] for e in world["api"].get(f"/v1/candidacies/{candidacy}/history").json()["items"]]


def test_a_retry_with_the_same_key_gets_the_first_answer_and_appends_nothing(world):
    candidacy = _candidacy(world)
    body = {"held_at": PAST.isoformat(), "interviewer_ids": [world["contact"]]}
    headers = {"Idempotency-Key": "interview-1"}
    first = world["api"].post(f"/v1/candidacies/{candidacy}/interviews", json=body, headers=headers)
    again = world["api"].post(f"/v1/candidacies/{candidacy}/interviews", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert _types(world, candidacy) == ["Opened", "Interview"]

    changed = {**body, "format": "phone"}
    assert_problem(world["api"].post(f"/v1/candidacies/{candidacy}/interviews", json=changed, headers=headers),
                   422, "Idempotency-Key")


def test_a_refusal_is_an_answer_too(world):
    candidacy = _candidacy(world)
    body = {"held_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(), "interviewer_ids": [world["contact"]]}
    headers = {"Idempotency-Key": "future-interview"}
    first = world["api"].post(f"/v1/candidacies/{candidacy}/interviews", json=body, headers=headers)
    again = world["api"].post(f"/v1/candidacies/{candidacy}/interviews", json=body, headers=headers)
    assert_problem(first, 422, "held_at")
    assert again.json() == first.json()


def test_keys_are_scoped_per_caller(world, add_user):
    other = add_user("Kai Keys", team="consistency")
    body = {"name": "Same Key"}
    headers = {"Idempotency-Key": "shared-key"}
    mine = world["api"].post("/v1/candidates", json=body, headers=headers)
    theirs = other.client.post("/v1/candidates", json=body, headers=headers)
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


def _concurrently(*calls):
    results = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(index, call):
        barrier.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_requests_with_one_key_append_once(world, server):
    candidacy = _candidacy(world)
    body = {"held_at": PAST.isoformat(), "interviewer_ids": [world["contact"]]}
    headers = {"Idempotency-Key": "concurrent-interview"}
    clients = [server.client(world["user"].key) for _ in range(4)]
    try:
        answers = _concurrently(*[
            lambda c=c: c.post(f"/v1/candidacies/{candidacy}/interviews", json=body, headers=headers)
            for c in clients
        ])
    finally:
        for client in clients:
            client.close()
    assert {a.status_code for a in answers} == {201}
    assert len({a.text for a in answers}) == 1
    assert _types(world, candidacy) == ["Opened", "Interview"]


def test_two_commands_with_one_if_match_one_wins(world, server):
    candidacy = _candidacy(world)
    clients = [server.client(world["user"].key) for _ in range(2)]
    try:
        answers = _concurrently(*[
            lambda c=c, h=h: c.post(f"/v1/candidacies/{candidacy}/interviews",
                                    json={"held_at": (PAST + timedelta(minutes=h)).isoformat(),
                                          "interviewer_ids": [world["contact"]]},
                                    headers={"If-Match": '"1"'})
            for c, h in zip(clients, (1, 2), strict=True)
        ])
    finally:
        for client in clients:
            client.close()
    assert sorted(a.status_code for a in answers) == [201, 409]
    assert_problem(next(a for a in answers if a.status_code == 409), 409)
    assert _types(world, candidacy) == ["Opened", "Interview"]


def test_a_query_sees_every_write_acknowledged_before_it(world):
    api = world["api"]
    for _ in range(10):
        candidacy = _candidacy(world)
        written = api.post(f"/v1/candidacies/{candidacy}/interviews",
                           json={"held_at": PAST.isoformat(), "interviewer_ids": [world["contact"]]})
        assert written.status_code == 201
        items = api.get("/v1/follow-ups", params={"candidacy_id": candidacy}).json()["items"]
        assert {i["kind"] for i in items} == {"thank_you", "check_in"}
        assert api.post(f"/v1/candidacies/{candidacy}/notes", json={
            "contact_id": world["contact"], "kind": "thank_you", "channel": "email"}).status_code == 201
        items = api.get("/v1/follow-ups", params={"candidacy_id": candidacy}).json()["items"]
        assert {i["kind"] for i in items} == {"check_in"}
