"""Erasure through the API of a real server: afterwards no byte of the person is left in the database or the log."""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.e2e.conftest import Server, assert_problem

ERASED_NAME = "erased person"


def pg_dump_for(database_url: str) -> str:
    """A pg_dump of the server's major version: the embedded server's own, or the system's."""
    with psycopg.connect(database_url) as conn:
        major = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
    import pgserver

    candidates = [Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_dump",
                  Path(f"/usr/lib/postgresql/{major}/bin/pg_dump")]
    found = shutil.which("pg_dump")
    if found:
        candidates.append(Path(found))
    for binary in candidates:
        if binary.exists():
            version = subprocess.run([str(binary), "--version"], capture_output=True, text=True).stdout
            if re.search(rf"\b{major}\.\d+", version):
                return str(binary)
    pytest.skip(f"no pg_dump {major} found")


def dump_database(database_url: str) -> bytes:
    dumped = subprocess.run([pg_dump_for(database_url), "--no-owner", "-d", database_url],
                            capture_output=True, check=True, timeout=120)
    return dumped.stdout


def traces(secret: str) -> list[bytes]:
    """The forms a text takes in a plain dump: as is, in a bytea column's hex, JSON-escaped."""
    raw = secret.encode()
    return [raw, raw.hex().encode(), secret.replace("/", "\\/").encode()]


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_erased_people_leave_no_trace_in_the_database_or_the_server_log(server: Server, admin: httpx.Client,
                                                                        add_user):
    token = uuid.uuid4().hex[:10]
    digits = "".join(random.choice("0123456789") for _ in range(7))
    gone_candidate = {"name": f"Quimby Zarathustra {token}", "email": f"quimby.{token}@mail.example",
                      "phone": f"+1 919 {digits}", "specialty": "ICU RN", "career_stage": "experienced"}
    gone_contact = {"name": f"Vesna Oberwald {token}", "company": f"Mercy {token}", "title": f"Charge lead {token}",
                    "email": f"vesna.{token}@mercy.example", "linkedin_url": f"https://linkedin.example/in/v-{token}"}
    kept_candidate = {"name": f"Kept Candidate {token}", "email": f"kept.{token}@mail.example"}
    kept_contact = {"name": f"Kept Contact {token}", "company": f"Mercy {token}", "title": "Nurse manager"}
    dana = add_user(f"Dana {token}", "recruiter", f"ICU {token}")
    recruiter = dana.client

    def post(path: str, body: dict, key: str | None = None) -> dict:
        headers = {"Idempotency-Key": key} if key else {}
        response = recruiter.post(path, json=body, headers=headers)
        assert response.status_code == 201, response.text
        if key:  # a retry gets the stored answer
            retried = recruiter.post(path, json=body, headers=headers)
            assert retried.json() == response.json() and retried.headers["Idempotent-Replayed"] == "true"
        return response.json()

    quimby = post("/v1/candidates", gone_candidate, f"reg-{token}")["id"]
    kept = post("/v1/candidates", kept_candidate, f"reg-kept-{token}")["id"]
    vesna = post("/v1/contacts", gone_contact, f"contact-{token}")["id"]
    lee = post("/v1/contacts", kept_contact)["id"]
    candidacy = post("/v1/candidacies", {"candidate_id": quimby, "company": f"Mercy {token}",
                                         "position": "ICU RN"}, f"open-{token}")["id"]
    post(f"/v1/candidacies/{candidacy}/interviews",
         {"held_at": "2026-01-05T10:00:00+00:00", "interviewer_ids": [vesna, lee]}, f"interview-{token}")
    post(f"/v1/candidacies/{candidacy}/notes", {"contact_id": vesna, "kind": "thank_you", "channel": "email",
                                                 "sent_at": "2026-01-05T15:00:00+00:00"}, f"note-{token}")
    post(f"/v1/candidacies/{candidacy}/check-ins", {"channel": "email", "contact_id": vesna,
                                                     "sent_at": "2026-01-12T15:00:00+00:00"}, f"check-in-{token}")
    post(f"/v1/contacts/{vesna}/notes", {"kind": "helpful_info", "channel": "email",
                                         "sent_at": "2026-01-20T15:00:00+00:00"})
    # Reads and reports that showed the people before: nothing of them may stay behind.
    assert recruiter.get(f"/v1/candidates/{quimby}").json()["email"] == gone_candidate["email"]
    assert recruiter.get(f"/v1/contacts/{vesna}").json()["title"] == gone_contact["title"]
    for report in ("follow-ups", "network", "compliance"):
        assert recruiter.get(f"/v1/reports/{report}").status_code == 200
    network = recruiter.get("/v1/network/contacts", params={"company": f"Mercy {token}"}).json()["items"]
    assert {c["name"] for c in network} == {gone_contact["name"], kept_contact["name"]}

    # Only an admin erases, and only with a reason.
    assert_problem(recruiter.delete(f"/v1/candidates/{quimby}", params={"reason": "ticket 1"}), 403)
    assert_problem(admin.delete(f"/v1/candidates/{quimby}"), 422, "reason")
    erased = admin.delete(f"/v1/candidates/{quimby}", params={"reason": f"erasure request {token}-1"},
                          headers={"Idempotency-Key": f"erase-{token}"})
    assert erased.status_code == 200, erased.text
    assert erased.json()["id"] == quimby
    again = admin.delete(f"/v1/candidates/{quimby}", params={"reason": f"erasure request {token}-1"},
                         headers={"Idempotency-Key": f"erase-{token}"})
    assert again.json() == erased.json()
    erased_contact = admin.request("DELETE", f"/v1/contacts/{vesna}", json={"reason": f"erasure request {token}-2"})
    assert erased_contact.status_code == 200, erased_contact.text

    # The API forgets them: 410 for the resources and for commands on them; lists without them or anonymised.
    assert_problem(recruiter.get(f"/v1/candidates/{quimby}"), 410)
    assert_problem(recruiter.get(f"/v1/contacts/{vesna}"), 410)
    assert_problem(recruiter.post(f"/v1/contacts/{vesna}/notes", json={"kind": "helpful_info", "channel": "email"}),
                   410)
    assert_problem(admin.delete(f"/v1/contacts/{vesna}", params={"reason": "again"}), 410)
    listed = recruiter.get("/v1/candidates").json()["items"]
    assert [c["id"] for c in listed] == [kept]
    network = recruiter.get("/v1/network/contacts", params={"company": f"Mercy {token}"}).json()["items"]
    assert sorted((c["name"], c["touches"]) for c in network) == sorted(
        [(ERASED_NAME, 4), (kept_contact["name"], 1)]
    )
    follow_ups = recruiter.get("/v1/reports/follow-ups", params={"include_done": "true"}).json()["rows"]
    assert {row["candidate"] for row in follow_ups} == {ERASED_NAME}
    assert {row["contact"] for row in follow_ups if row["contact_id"] == vesna} == {ERASED_NAME}
    audit = admin.get("/v1/reports/audit", params={"type": "Erased"}).json()["rows"]
    assert [(row["stream"], row["actor"]) for row in audit] == [(quimby, "Admin"), (vesna, "Admin")]
    assert f"reason=erasure request {token}-1" in audit[0]["details"]

    # Everyone else's data is intact.
    assert recruiter.get(f"/v1/candidates/{kept}").json()["email"] == kept_candidate["email"]
    assert recruiter.get(f"/v1/contacts/{lee}").json()["name"] == kept_contact["name"]

    # Not one byte of the erased people anywhere in the database: events, projections, tracking, keys, answers.
    dump = dump_database(server.database_url)
    assert any(trace in dump for trace in traces(kept_contact["name"]))  # the search does find what is there
    secrets = [*(gone_candidate[f] for f in ("name", "email", "phone")),
               *(gone_contact[f] for f in ("name", "title", "email", "linkedin_url"))]
    for secret in secrets:
        for trace in traces(secret):
            assert trace not in dump, f"{secret!r} found in the database dump"

    # Nor in what the server wrote out.
    assert server.log_path is not None
    wait_until(lambda: server.log_path.stat().st_size > 0)
    log = server.log_path.read_bytes()
    assert b"DELETE /v1/candidates/" in log  # the log is the server's, and holds the requests
    for secret in secrets:
        assert secret.encode() not in log, f"{secret!r} found in the server log"
    assert os.environ["FOLLOWUP_MASTER_KEY"].encode() not in log
