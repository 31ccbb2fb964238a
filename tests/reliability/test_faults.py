"""Faults against a real server process: cut connections, an absent database, an exhausted pool, a killed API."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
from psycopg import sql

from tests.e2e.conftest import assert_problem
from tests.reliability.conftest import set_connections_allowed, terminate_backends

WRITERS = 8
# A fault answer must come well before a client would give up: with a pool timeout of 1 s, two attempts
# waiting for a connection take about 2.2 s.
FAULT_ANSWER_SECONDS = 3.0


def _log_rows(database_url: str, schema: str) -> list[tuple]:
    """(position, stream id, version) of every stored event."""
    with psycopg.connect(database_url) as conn:
        return conn.execute(sql.SQL("SELECT notification_id, originator_id, originator_version FROM {}.followup_events "
                                    "ORDER BY notification_id").format(sql.Identifier(schema))).fetchall()


def assert_streams_whole(rows: list[tuple]) -> None:
    """No partial write: every stream's versions run 1, 2, 3... without gap or repeat."""
    versions: dict[object, list[int]] = {}
    for _, stream, version in rows:
        versions.setdefault(stream, []).append(version)
    for stream, seen in versions.items():
        assert sorted(seen) == list(range(1, len(seen) + 1)), stream


def _contacts(client: httpx.Client, count: int) -> list[str]:
    ids = []
    for i in range(count):
        response = client.post("/v1/contacts", json={"name": f"Contact {i}", "company": "Mercy"})
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def _note(i: int) -> dict:
    sent_at = datetime.now(UTC) - timedelta(minutes=i + 1)
    return {"kind": "helpful_info", "channel": "email", "sent_at": sent_at.isoformat()}


def test_cut_connections_lose_no_acknowledged_write_and_the_api_recovers_by_itself(
    own_database, start_server, database_url
):
    database, url = own_database
    api = start_server(url, FOLLOWUP_DB_POOL_TIMEOUT="1")
    with api.client() as admin:
        contacts = _contacts(admin, WRITERS)
    acknowledged: list[dict] = []
    statuses: Counter[int] = Counter()
    slow: list[float] = []
    stop = threading.Event()

    def write(contact: str) -> None:
        with api.client(timeout=15) as client:
            i = 0
            while not stop.is_set():
                i += 1
                started = time.monotonic()
                response = client.post(f"/v1/contacts/{contact}/notes", json=_note(i))
                elapsed = time.monotonic() - started
                statuses[response.status_code] += 1
                if response.status_code == 201:
                    acknowledged.append(response.json())
                else:
                    assert_problem(response, 503)
                    assert response.headers["retry-after"]
                    if elapsed > FAULT_ANSWER_SECONDS:
                        slow.append(elapsed)

    threads = [threading.Thread(target=write, args=(contact,)) for contact in contacts]
    for thread in threads:
        thread.start()
    cut = 0
    for _ in range(4):
        time.sleep(0.4)
        cut += terminate_backends(database_url, database)
    time.sleep(0.4)
    stop.set()
    for thread in threads:
        thread.join()

    assert cut >= 4 and acknowledged
    assert set(statuses) <= {201, 503}, statuses
    assert not slow, slow
    rows = _log_rows(url, api.schema)
    positions = {row[0] for row in rows}
    assert {answer["position"] for answer in acknowledged} <= positions
    assert len({answer["position"] for answer in acknowledged}) == len(acknowledged)
    assert_streams_whole(rows)
    # Recovered without a restart: the event store, the read pool (a list) and the idempotency pool answer.
    with api.client() as admin:
        _eventually_ok(lambda: admin.get("/v1/network/contacts"), 200)
        _eventually_ok(lambda: admin.post(f"/v1/contacts/{contacts[0]}/notes", json=_note(0),
                                          headers={"Idempotency-Key": "after-the-cut"}), 201)


def _eventually_ok(call, status: int, within: float = 30.0) -> httpx.Response:
    deadline = time.monotonic() + within
    while True:
        response = call()
        if response.status_code == status or time.monotonic() > deadline:
            assert response.status_code == status, response.text
            return response
        assert response.status_code == 503, response.text
        time.sleep(0.2)


def test_with_the_database_away_the_api_answers_503_quickly_then_recovers(own_database, start_server, database_url):
    database, url = own_database
    api = start_server(url, FOLLOWUP_DB_POOL_TIMEOUT="1")
    with api.client() as admin:
        (contact,) = _contacts(admin, 1)
        assert admin.get("/v1/network/contacts").status_code == 200
        set_connections_allowed(database_url, database, False)
        try:
            terminate_backends(database_url, database)
            # A write with a key (event store and idempotency pools) and a list (read pool).
            requests = [
                lambda: admin.post(f"/v1/contacts/{contact}/notes", json=_note(2), headers={"Idempotency-Key": "k"}),
                lambda: admin.get("/v1/network/contacts"),
            ]
            for request in requests:
                started = time.monotonic()
                response = request()
                assert time.monotonic() - started < FAULT_ANSWER_SECONDS
                body = assert_problem(response, 503)
                assert response.headers["retry-after"]
                assert "Traceback" not in response.text and body["type"].endswith("database-unavailable")
        finally:
            set_connections_allowed(database_url, database, True)
        _eventually_ok(lambda: admin.post(f"/v1/contacts/{contact}/notes", json=_note(2),
                                          headers={"Idempotency-Key": "k"}), 201)
        _eventually_ok(lambda: admin.get("/v1/network/contacts"), 200)
        # Nothing asked for while the database was away was stored; what was asked afterwards was, once.
        assert admin.get(f"/v1/contacts/{contact}").json()["version"] == 2
    assert api.process.poll() is None


def test_an_exhausted_pool_answers_503_after_a_bounded_wait_and_never_deadlocks(database_url, start_server):
    api = start_server(database_url, FOLLOWUP_DB_POOL_SIZE="1", FOLLOWUP_DB_MAX_OVERFLOW="0",
                       FOLLOWUP_DB_POOL_TIMEOUT="1")
    with api.client() as admin:
        (contact,) = _contacts(admin, 1)
    results: list[tuple[int, float]] = []

    def read() -> None:
        with api.client(timeout=30) as client:
            started = time.monotonic()
            response = client.get(f"/v1/contacts/{contact}")
            results.append((response.status_code, time.monotonic() - started))
            if response.status_code != 200:
                assert_problem(response, 503)

    # A transaction holding the event table makes the one pooled connection wait inside the server.
    with psycopg.connect(database_url) as blocker:
        blocker.execute(sql.SQL("LOCK TABLE {}.followup_events IN ACCESS EXCLUSIVE MODE").format(
            sql.Identifier(api.schema)))
        threads = [threading.Thread(target=read) for _ in range(12)]
        for thread in threads:
            thread.start()
        time.sleep(FAULT_ANSWER_SECONDS + 1)
        answered_while_held = list(results)
        blocker.rollback()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert len([status for status, _ in answered_while_held if status == 503]) >= 10, answered_while_held
    assert all(seconds < FAULT_ANSWER_SECONDS for status, seconds in answered_while_held if status == 503)
    assert {status for status, _ in results} <= {200, 503}
    with api.client() as admin:
        assert admin.get(f"/v1/contacts/{contact}").status_code == 200


def test_an_api_killed_mid_request_keeps_no_partial_event_and_a_retry_appends_once(database_url, start_server):
    api = start_server(database_url)
    with api.client() as admin:
        contacts = _contacts(admin, 4)
    sent: dict[str, tuple[str, dict]] = {}  # idempotency key -> (contact, body)
    answers: dict[str, dict] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def write(contact: str) -> None:
        with api.client(timeout=10) as client:
            i = 0
            while not stop.is_set():
                i += 1
                key, body = uuid.uuid4().hex, _note(i)
                with lock:
                    sent[key] = (contact, body)
                try:
                    response = client.post(f"/v1/contacts/{contact}/notes", json=body, headers={"Idempotency-Key": key})
                except httpx.TransportError:
                    return  # the server died with this request unanswered
                assert response.status_code == 201, response.text
                answers[key] = response.json()

    threads = [threading.Thread(target=write, args=(contact,)) for contact in contacts]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    api.kill()
    stop.set()
    for thread in threads:
        thread.join()
    unanswered = set(sent) - set(answers)
    assert answers and unanswered

    api.start()
    with api.client() as admin:
        for key, (contact, body) in sent.items():
            response = admin.post(f"/v1/contacts/{contact}/notes", json=body, headers={"Idempotency-Key": key})
            assert response.status_code == 201, response.text
            if key in answers:
                assert response.headers["idempotent-replayed"] == "true"
                assert response.json() == answers[key]
            answers[key] = response.json()
        for contact in contacts:
            notes = [key for key, (to, _) in sent.items() if to == contact]
            # Created at version 1, then one event per idempotency key: none lost, none doubled.
            assert admin.get(f"/v1/contacts/{contact}").json()["version"] == 1 + len(notes)
    rows = _log_rows(database_url, api.schema)
    assert_streams_whole(rows)
    assert len({answer["position"] for answer in answers.values()}) == len(answers)
