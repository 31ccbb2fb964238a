"""Personal data encrypted per person, erasure by destroying the key, and master-key rotation, on real PostgreSQL."""

from __future__ import annotations

import base64
import os
import stat
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from domain.application import Actor, FollowupApplication
from domain.candidate import Candidate
from domain.errors import Erased, UnknownReference
from domain.values import ERASED_NAME, Channel, NoteKind, Outcome, Role
from infra.eventstore import open_application
from infra.person_keys import MasterKeyError, new_master_key, resolve_master_key
from infra.personal_data import decode_page
from infra.settings import Settings
from projections.rebuild import rebuild_projection
from projections.registry import PROJECTIONS
from projections.reports import AuditFilters, build_report

NOW = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
ADMIN = Actor(uuid.UUID(int=1), "setup")


@pytest.fixture
def app(settings: Settings):
    application = open_application(settings, clock=lambda: NOW)
    yield application
    application.close()


def rows(settings: Settings, query: str, *params: object) -> list[tuple]:
    with psycopg.connect(settings.database_url) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(settings.schema_name)))
        return conn.execute(query, params).fetchall()


def story(app: FollowupApplication) -> dict[str, uuid.UUID]:
    """A recruiter, a candidate and a contact who will be erased, and a pair who stay."""
    dana = app.add_recruiter("Dana", Role.RECRUITER, "ICU", by=ADMIN).result.id
    by = Actor(dana, "req")
    quinn = app.register_candidate("Quinn Zebediah", email="quinn@example.org", phone="+1 555 0199",
                                   owner_id=dana, by=by).id
    sam = app.register_candidate("Sam Patel", email="sam@example.org", owner_id=dana, by=by).id
    vera = app.add_contact("Vera Oxbridge", "Mercy", title="Ward sister", email="vera@mercy.example",
                           linkedin_url="https://linkedin.example/vera", by=by).id
    lee = app.add_contact("Jordan Lee", "Mercy", title="Nurse manager", by=by).id
    candidacy = app.open_candidacy(quinn, "Mercy", "ICU RN", by=by).id
    held_at = NOW - timedelta(days=10)
    app.record_interview(candidacy, held_at, [vera, lee], by=by)
    app.send_note(candidacy, vera, NoteKind.THANK_YOU, Channel.EMAIL, held_at + timedelta(hours=3), by=by)
    app.send_check_in(candidacy, Channel.EMAIL, vera, held_at + timedelta(days=5), by=by)
    app.record_outcome(candidacy, Outcome.HIRED, by=by)
    app.send_contact_note(vera, NoteKind.CONGRATULATIONS, Channel.EMAIL, NOW - timedelta(days=1), by=by)
    return {"dana": dana, "quinn": quinn, "sam": sam, "vera": vera, "lee": lee, "candidacy": candidacy}


def test_erasing_people_leaves_their_history_anonymous_and_every_read_model_without_them(app, settings, workers):
    ids = story(app)
    running = workers(app)
    for worker in running:
        worker.catch_up()
    assert rows(settings, "SELECT name FROM contact_network_contacts WHERE contact_id = %s", ids["vera"]) == [
        ("Vera Oxbridge",)
    ]
    outreach = "SELECT kind, contact_id FROM follow_up_items WHERE kind IN ('connect_linkedin', 'stay_in_touch')"
    assert {contact for _, contact in rows(settings, outreach)} == {ids["vera"], ids["lee"]}

    compliance_before = build_report(app, "compliance", as_of=NOW).figures
    admin = Actor(uuid.UUID(int=9), "erase-req")
    app.erase_candidate(ids["quinn"], "GDPR request #1042", by=admin)
    app.erase_contact(ids["vera"], "GDPR request #1043", by=admin)
    for worker in running:
        worker.catch_up()

    # The people are gone: reads and commands answer Erased, references to them are unknown.
    with pytest.raises(Erased):
        app.get_candidate(ids["quinn"])
    with pytest.raises(Erased):
        app.get_contact(ids["vera"])
    with pytest.raises(Erased):
        app.send_contact_note(ids["vera"], NoteKind.HELPFUL_INFO, Channel.EMAIL, by=admin)
    with pytest.raises(Erased):
        app.erase_candidate(ids["quinn"], "again", by=admin)
    with pytest.raises(UnknownReference):
        app.open_candidacy(ids["quinn"], "General", "ER RN", by=admin)

    # Their events still load, without their data; the others' data is intact.
    registered = next(iter(app.events.get(ids["quinn"])))
    assert isinstance(registered, Candidate.Registered)
    assert (registered.name, registered.email, registered.phone) == (ERASED_NAME, None, None)
    assert registered.owner_id == ids["dana"]
    assert app.get_candidate(ids["sam"]).email == "sam@example.org"
    assert app.get_contact(ids["lee"]).title == "Nurse manager"

    def read_models() -> dict[str, list[tuple]]:
        return {
            "contacts": rows(settings, "SELECT contact_id, name, company, title, touches FROM contact_network_contacts "
                                       "ORDER BY contact_id"),
            "due": rows(settings, "SELECT contact_id, next_touch_due, erased_at IS NOT NULL FROM contact_network_contacts "
                                  "ORDER BY contact_id"),
            "candidates": rows(settings, "SELECT candidate_id, erased_at IS NOT NULL FROM candidates "
                                         "ORDER BY candidate_id"),
            "items": rows(settings, "SELECT candidacy_id, kind, contact_id, done_at FROM follow_up_items "
                                    "ORDER BY 1, 2, 3"),
            "analytics": rows(settings, "SELECT candidacy_id, interviews, outcome FROM analytics_candidacies"),
            "audit": rows(settings, "SELECT event_type, aggregate_type, actor_id FROM audit_index "
                                    "ORDER BY stream, version"),
        }

    live = read_models()
    # No more outreach to Vera: her LinkedIn and stay-in-touch items are gone, Lee's stay, and so does
    # the thank-you she was owed for the interview (history).
    assert set(rows(settings, outreach)) == {("connect_linkedin", ids["lee"]), ("stay_in_touch", ids["lee"])}
    assert (ids["candidacy"], "thank_you", ids["vera"]) in {item[:3] for item in live["items"]}
    assert (ids["vera"], ERASED_NAME, "Mercy", None, 4) in live["contacts"]
    # Nor is a stay-in-touch message due to her in the network; Lee's is, 90 days after the interview.
    assert (ids["vera"], None, True) in live["due"]
    assert (ids["lee"], NOW + timedelta(days=80), False) in live["due"]
    assert (ids["quinn"], True) in live["candidates"] and (ids["sam"], False) in live["candidates"]
    assert ("Erased", "Candidate", admin.actor_id) in live["audit"]
    assert ("Erased", "Contact", admin.actor_id) in live["audit"]

    for name in PROJECTIONS:
        rebuild_projection(name, app)
    assert read_models() == live

    # Reports still count the erased people's events, anonymously.
    assert build_report(app, "compliance", as_of=NOW).figures == compliance_before
    network = build_report(app, "network", as_of=NOW)
    vera_row = next(c for c in network.sections["contacts"] if c["contact_id"] == ids["vera"])
    assert (vera_row["name"], vera_row["title"], vera_row["touches"]) == (ERASED_NAME, None, 4)
    assert vera_row["next_touch_due"] is None
    # As of a moment before the erasure, one was due.
    before_erasure = build_report(app, "network", as_of=NOW - timedelta(seconds=1))
    vera_before = next(c for c in before_erasure.sections["contacts"] if c["contact_id"] == ids["vera"])
    assert vera_before["next_touch_due"] == NOW - timedelta(days=1) + timedelta(days=90)
    follow_ups = build_report(app, "follow-ups", as_of=NOW, include_done=True)
    assert {row["candidate"] for row in follow_ups.rows if row["candidate_id"] == ids["quinn"]} == {ERASED_NAME}

    def report_outreach(as_of: datetime) -> set[tuple[str, uuid.UUID]]:
        report = build_report(app, "follow-ups", as_of=as_of, include_done=True)
        return {(row["kind"], row["contact_id"]) for row in report.rows
                if row["kind"] in ("connect_linkedin", "stay_in_touch")}

    # As the live queue has it (tests/unit/test_follow_up_rules.py has the items as of before an erasure).
    assert report_outreach(NOW) == set(rows(settings, outreach))
    assert "Quinn" not in follow_ups.to_csv() and "Vera" not in network.to_csv()

    audit = build_report(app, "audit", audit=AuditFilters(event_type="Erased"))
    assert [(r["stream"], r["actor_id"]) for r in audit.rows] == [
        (ids["quinn"], admin.actor_id), (ids["vera"], admin.actor_id)
    ]
    assert "reason=GDPR request #1042" in audit.rows[0]["details"]

    # The key table keeps only the fact of the erasure.
    keys = dict(rows(settings, "SELECT person_id, wrapped_key IS NULL FROM person_keys"))
    assert keys[ids["quinn"]] is True and keys[ids["vera"]] is True and keys[ids["sam"]] is False


def test_stored_events_hold_no_personal_data_in_clear(app, settings):
    ids = story(app)
    states = b"".join(bytes(state) for (state,) in rows(settings, "SELECT state FROM followup_events"))
    for secret in (b"Quinn Zebediah", b"quinn@example.org", b"555 0199", b"Vera Oxbridge", b"Ward sister",
                   b"linkedin.example/vera", b"Sam Patel"):
        assert secret not in states
    assert b"Mercy" in states and ids["quinn"].hex.encode() in states  # what is not personal stays readable


def test_rotating_the_master_key_rewraps_every_key_and_retires_the_old_one(app, settings):
    ids = story(app)
    app.erase_candidate(ids["quinn"], "request #7", by=ADMIN)
    wrapped_before = dict(rows(settings, "SELECT person_id, wrapped_key FROM person_keys"))
    events_before = rows(settings, "SELECT originator_id, originator_version, state FROM followup_events")

    new_key = new_master_key()
    assert app.person_keys.rotate_master_key(base64.b64decode(new_key)) == 3  # Sam, Vera, Lee

    assert rows(settings, "SELECT originator_id, originator_version, state FROM followup_events") == events_before
    wrapped_after = dict(rows(settings, "SELECT person_id, wrapped_key FROM person_keys"))
    assert all(wrapped_after[person] != wrapped_before[person] for person in (ids["sam"], ids["vera"], ids["lee"]))

    # The old master key opens nothing any more: refused at opening.
    with pytest.raises(MasterKeyError):
        open_application(settings)
    # With the new one, every person not erased reads as before.
    renewed = open_application(settings.model_copy(update={"master_key": new_key}))
    try:
        assert renewed.get_candidate(ids["sam"]).name == "Sam Patel"
        assert renewed.get_contact(ids["vera"]).email == "vera@mercy.example"
        assert renewed.get_contact(ids["lee"]).name == "Jordan Lee"
        with pytest.raises(Erased):
            renewed.get_candidate(ids["quinn"])
    finally:
        renewed.close()


def test_an_application_opened_with_the_old_key_cannot_unwrap_after_a_rotation(settings):
    writer = open_application(settings)
    stale = open_application(settings)
    try:
        recruiter = writer.add_recruiter("Dana", Role.RECRUITER, None, by=ADMIN).result.id
        sam = writer.register_candidate("Sam Patel", owner_id=recruiter, by=ADMIN).id
        writer.person_keys.rotate_master_key(os.urandom(32))
        stale.person_keys.clear_cache()
        with pytest.raises(MasterKeyError):
            stale.get_candidate(sam)
        assert writer.get_candidate(sam).name == "Sam Patel"
    finally:
        writer.close()
        stale.close()


def test_an_external_database_needs_a_master_key(settings):
    without_key = settings.model_copy(update={"master_key": None})
    with pytest.raises(MasterKeyError, match="FOLLOWUP_MASTER_KEY is required"):
        open_application(without_key)
    with pytest.raises(MasterKeyError, match="32 bytes"):
        resolve_master_key(settings.model_copy(update={"master_key": base64.b64encode(b"short").decode()}))


def test_the_embedded_database_keeps_a_generated_master_key_in_a_private_file(tmp_path: Path):
    embedded = Settings(DATABASE_URL=None, FOLLOWUP_MASTER_KEY=None, data_dir=tmp_path / "data")
    first = resolve_master_key(embedded)
    assert len(first) == 32
    key_file = tmp_path / "data" / "master.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert resolve_master_key(embedded) == first  # the same key on every start


def test_snapshots_of_a_person_are_sealed_too(app, settings):
    ids = story(app)
    snapshot = Candidate.Snapshot.take(app.get_candidate(ids["sam"]))
    stored = app.mapper.to_stored_event(snapshot)
    assert b"Sam Patel" not in stored.state and b"sam@example.org" not in stored.state
    assert app.mapper.to_domain_event(stored).state["name"] == "Sam Patel"
    app.erase_candidate(ids["sam"], "request #8", by=ADMIN)
    forgotten = app.mapper.to_domain_event(stored).state
    assert (forgotten["name"], forgotten["email"]) == (ERASED_NAME, None)


def test_a_page_of_the_log_reads_everyones_keys_in_one_query(app, settings):
    ids = story(app)
    app.erase_candidate(ids["quinn"], "request #9", by=ADMIN)
    fresh = open_application(settings, clock=lambda: NOW)  # an empty key cache, as a projection starts with
    try:
        notifications = fresh.recorder.select_notifications(start=1, limit=1000)
        queries = []
        original = fresh.person_keys.datastore.transaction

        def counted(*args, **kwargs):
            queries.append(args)
            return original(*args, **kwargs)

        fresh.person_keys.datastore.transaction = counted
        events = decode_page(fresh.mapper, notifications)
        fresh.person_keys.datastore.transaction = original
        assert len(queries) == 1
        names = {type(e).__qualname__ + ":" + str(e.originator_id): getattr(e, "name", None) for e in events}
        assert names[f"Candidate.Registered:{ids['sam']}"] == "Sam Patel"
        assert names[f"Candidate.Registered:{ids['quinn']}"] == ERASED_NAME
        assert names[f"Contact.Added:{ids['vera']}"] == "Vera Oxbridge"
        assert [e.originator_id for e in events] == [n.originator_id for n in notifications]
    finally:
        fresh.close()
