"""Many clients on one candidacy: versions in sequence, conflicts as 409, no lost update, one append per key."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

from tests.e2e.conftest import assert_problem

CLIENTS = 16
APPENDS_EACH = 3


def _candidacy(recruiter) -> str:
    candidate = recruiter.post("/v1/candidates", json={"name": "Quinn"}).json()["id"]
    contact = recruiter.post("/v1/contacts", json={"name": "Morgan", "company": "Bayside"}).json()["id"]
    candidacy = recruiter.post("/v1/candidacies", json={"candidate_id": candidate, "company": "Bayside",
                                                        "position": "RN"}).json()["id"]
    held_at = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    response = recruiter.post(f"/v1/candidacies/{candidacy}/interviews",
                              json={"held_at": held_at, "interviewer_ids": [contact]})
    assert response.status_code == 201, response.text
    return candidacy


def test_sixteen_clients_with_if_match_append_in_sequence_and_lose_nothing(server, add_user):
    owner = add_user("Casey Concurrent", team="concurrency")
    candidacy = _candidacy(owner.client)
    won: list[int] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def append() -> None:
        with server.client(owner.key) as client:
            done = 0
            while done < APPENDS_EACH:
                version = client.get(f"/v1/candidacies/{candidacy}").json()["version"]
                response = client.post(f"/v1/candidacies/{candidacy}/check-ins", json={"channel": "phone"},
                                       headers={"If-Match": f'"{version}"'})
                with lock:
                    statuses[response.status_code] += 1
                if response.status_code == 201:
                    assert response.json()["version"] == version + 1
                    with lock:
                        won.append(response.json()["version"])
                    done += 1
                else:
                    assert_problem(response, 409)

    threads = [threading.Thread(target=append) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(statuses) <= {201, 409}, statuses
    assert statuses[201] == CLIENTS * APPENDS_EACH
    history = owner.client.get(f"/v1/candidacies/{candidacy}/history", params={"limit": 500}).json()["items"]
    versions = [event["version"] for event in history]
    assert versions == list(range(1, len(versions) + 1))
    check_ins = [event["version"] for event in history if event["type"] == "CheckInSent"]
    assert sorted(won) == check_ins  # every acknowledged append is there, once, at the version it was told


def test_one_idempotency_key_sent_concurrently_appends_once(server, add_user):
    owner = add_user("Ida Idempotent", team="idempotency")
    candidacy = _candidacy(owner.client)
    before = owner.client.get(f"/v1/candidacies/{candidacy}").json()["version"]
    answers = []
    barrier = threading.Barrier(CLIENTS)

    def send() -> None:
        with server.client(owner.key) as client:
            barrier.wait()
            answers.append(client.post(f"/v1/candidacies/{candidacy}/check-ins", json={"channel": "email"},
                                       headers={"Idempotency-Key": "one-check-in"}))

    threads = [threading.Thread(target=send) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [response.status_code for response in answers] == [201] * CLIENTS
    assert len({response.text for response in answers}) == 1
    assert [response.headers.get("idempotent-replayed") for response in answers].count(None) == 1
    assert owner.client.get(f"/v1/candidacies/{candidacy}").json()["version"] == before + 1
