"""Reports replayed from the log: both time axes, the same figures as the live read models, and the HTML page."""

from __future__ import annotations

import math
import time
import uuid
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.sql import SQL, Identifier

from bench.generator import load_history
from domain.application import Actor
from domain.values import Channel, InterviewFormat, NoteKind, Role
from infra.eventstore import open_application
from infra.settings import Settings
from projections.queries import ItemFilters, TeamScope, follow_up_items_page
from projections import replay as replay_module
from projections.replay import ReportScope
from projections.report_html import chart_titles, render_html
from projections.reports import AuditFilters, build_report

ADMIN = Actor(uuid.UUID(int=1), "setup")
MONDAY_NOON = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
FRIDAY_INTERVIEW = datetime(2026, 11, 13, 15, 0, tzinfo=UTC)  # thank-you due by Sat 14 Nov 15:00
MONDAY_MORNING = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # when the thank-you went out
WEDNESDAY = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)  # when it was recorded


def test_monday_as_known_on_monday_and_as_known_now(settings: Settings):
    current = [MONDAY_NOON]
    app = open_application(settings, clock=lambda: current[0])
    try:
        dana = app.add_recruiter("Dana", Role.RECRUITER, "ICU", by=ADMIN).result.id
        as_dana = Actor(dana, "req-dana")
        sam = app.register_candidate("Sam", owner_id=dana, by=as_dana).id
        lee = app.add_contact("Jordan Lee", "Mercy", by=as_dana).id
        candidacy = app.open_candidacy(sam, "Mercy", "ICU RN", by=as_dana).id
        app.record_interview(candidacy, FRIDAY_INTERVIEW, [lee], InterviewFormat.VIDEO, by=as_dana)
        # The library records real time: "known on Monday" is a moment between the two recordings.
        time.sleep(0.05)
        known_on_monday = datetime.now(UTC)
        time.sleep(0.05)
        current[0] = WEDNESDAY
        as_dana_later = Actor(dana, "req-dana-wednesday")
        note = app.send_note(candidacy, lee, NoteKind.THANK_YOU, Channel.EMAIL, MONDAY_MORNING, by=as_dana_later)

        then = build_report(app, "follow-ups", as_of=MONDAY_NOON, known_at=known_on_monday)
        thank_yous = [r for r in then.rows if r["kind"] == "thank_you"]
        assert [(r["status"], r["contact"], r["candidate"], r["owner"]) for r in thank_yous] == [
            ("overdue", "Jordan Lee", "Sam", "Dana")
        ]
        assert then.figures["overdue"] == 1

        now = build_report(app, "follow-ups", as_of=MONDAY_NOON, include_done=True)
        thank_yous = [r for r in now.rows if r["kind"] == "thank_you"]
        assert [(r["status"], r["flags"], r["done_at"]) for r in thank_yous] == [("done", ["late"], MONDAY_MORNING)]
        assert build_report(app, "follow-ups", as_of=MONDAY_NOON).figures["overdue"] == 0

        compliance_then = build_report(app, "compliance", as_of=MONDAY_NOON, known_at=known_on_monday)
        compliance_now = build_report(app, "compliance", as_of=MONDAY_NOON)
        assert (compliance_then.figures["thank_yous_owed"], compliance_then.figures["thank_yous_late"]) == (1, 0)
        assert (compliance_now.figures["thank_yous_owed"], compliance_now.figures["thank_yous_late"]) == (1, 1)

        audit = build_report(app, "audit", audit=AuditFilters(stream_id=candidacy, event_type="NoteSent"))
        [row] = audit.rows
        assert (row["actor_id"], row["actor"], row["correlation_id"]) == (dana, "Dana", "req-dana-wednesday")
        assert row["occurred_at"] == MONDAY_MORNING
        assert row["recorded_at"] > known_on_monday
        assert row["position"] == note.position
        assert "kind=thank_you" in row["details"]
        # Known on Monday, the note was not in the log yet.
        assert build_report(app, "audit", known_at=known_on_monday,
                            audit=AuditFilters(stream_id=candidacy, event_type="NoteSent")).rows == []
    finally:
        app.close()


def test_a_team_sees_its_own_candidacies_only(settings: Settings):
    app = open_application(settings, clock=lambda: MONDAY_NOON)
    try:
        ids = {}
        for name, team in (("Dana", "ICU"), ("Eli", "ER")):
            recruiter = app.add_recruiter(name, Role.RECRUITER, team, by=ADMIN).result.id
            by = Actor(recruiter, f"req-{name}")
            candidate = app.register_candidate(f"{name}'s candidate", owner_id=recruiter, by=by).id
            contact = app.add_contact(f"{name}'s contact", f"{team} Hospital", by=by).id
            candidacy = app.open_candidacy(candidate, "Mercy", "RN", by=by).id
            app.record_interview(candidacy, FRIDAY_INTERVIEW, [contact], by=by)
            ids[team] = candidacy
        icu = build_report(app, "follow-ups", as_of=MONDAY_NOON, scope=ReportScope(all_teams=False, team="ICU"))
        assert {r["candidacy_id"] for r in icu.rows} == {ids["ICU"]}
        network = build_report(app, "network", as_of=MONDAY_NOON, scope=ReportScope(all_teams=False, team="ICU"))
        assert [r["company"] for r in network.rows] == ["ICU Hospital"]
        whole = build_report(app, "network", as_of=MONDAY_NOON)
        assert {r["company"] for r in whole.rows} == {"ICU Hospital", "ER Hospital"}
        assert all(r["warm"] == 1 and r["cold"] == 0 for r in whole.rows)
    finally:
        app.close()


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


@pytest.fixture
def generated(settings: Settings, workers):
    """A generated agency's history (thousands of events), with every live read model caught up."""
    app = open_application(settings)
    assert load_history(app, 400) > 3000
    for worker in workers(app):
        worker.catch_up()
    yield app
    app.close()


def test_replay_gives_the_live_read_models_figures(generated, settings: Settings, database_url: str):
    app = generated
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute(SQL("SET search_path TO {}").format(Identifier(settings.schema_name)))
        # One transaction, so now() is the same instant for every view.
        with conn.transaction():
            as_of = conn.execute("SELECT now() AS now").fetchone()["now"]
            teams = conn.execute("SELECT * FROM analytics_team_summary").fetchall()
            recruiters = conn.execute("SELECT * FROM analytics_recruiter_summary").fetchall()
            outcomes = conn.execute("SELECT * FROM analytics_team_outcomes").fetchall()
        live_items = follow_up_items_page(
            conn, settings.schema_name, now=as_of, scope=TeamScope(all_teams=True), filters=ItemFilters(),
            statuses=["upcoming", "due", "overdue"], after=None, limit=1_000_000,
        )

    compliance = build_report(app, "compliance", as_of=as_of)
    replayed = {(r["level"], r["team"], r["owner_id"]): r for r in compliance.rows}
    assert len(replayed) == len(teams) + len(recruiters)
    for level, rows in (("team", teams), ("recruiter", recruiters)):
        for live in rows:
            mine = replayed[(level, live["team"], live.get("owner_id"))]
            for column, value in live.items():
                if column in ("team", "owner_id"):
                    continue
                assert _close(mine[column], value), (level, live["team"], column, mine[column], value)
    replayed_outcomes: dict[tuple, int] = {}
    for row in compliance.sections["outcomes"]:
        key = (row["team"], row["outcome"], row["thank_you_within_24h"])
        replayed_outcomes[key] = replayed_outcomes.get(key, 0) + row["candidacies"]
    assert replayed_outcomes == {
        (r["team"], r["outcome"], r["thank_you_within_24h"]): r["candidacies"] for r in outcomes
    }

    follow_ups = build_report(app, "follow-ups", as_of=as_of)

    def key(row):
        return (row["candidacy_id"], row["kind"], row["contact_id"], row["opened_at"], row["due_from"],
                row["due_by"], row["status"], tuple(row["flags"]), row["reason"])

    assert len(follow_ups.rows) == len(live_items) > 100
    assert sorted(map(key, follow_ups.rows), key=str) == sorted(map(key, live_items), key=str)


class _Charts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.svgs = 0
        self.captions: list[str] = []
        self.tables = 0
        self._in_caption = False

    def handle_starttag(self, tag, attrs):
        self.svgs += tag == "svg"
        self.tables += tag == "table"
        self._in_caption = tag == "figcaption"

    def handle_endtag(self, tag):
        if tag == "figcaption":
            self._in_caption = False

    def handle_data(self, data):
        if self._in_caption:
            self.captions.append(data)


def test_the_html_report_carries_every_chart(generated):
    as_of = datetime.now(UTC) + timedelta(minutes=1)
    for name, charts in (("compliance", 2), ("follow-ups", 1), ("network", 1)):
        page = render_html(build_report(generated, name, as_of=as_of))
        parsed = _Charts()
        parsed.feed(page)
        parsed.close()
        assert page.startswith("<!DOCTYPE html>")
        assert parsed.svgs == charts, name
        assert parsed.captions == chart_titles(name)
        assert parsed.tables >= 1
        assert "as known at" in page
        # Self-contained: nothing to run, nothing to fetch.
        assert "<script" not in page and "<link" not in page and 'src="http' not in page


def test_a_replay_reads_on_when_its_connection_to_the_log_is_lost(
    generated, monkeypatch, caplog, settings: Settings, database_url: str
):
    as_of = datetime.now(UTC)
    whole = build_report(generated, "compliance", as_of=as_of, known_at=as_of)
    monkeypatch.setattr(replay_module, "PAGE_SIZE", 500)  # several windows of the log, and a drop between two
    dropped = []

    def drop_the_replays_connection(position: int, head: int, decoded: int) -> None:
        """After the first window: ends the server side of every connection this test's schema was read on,
        the replay's next one among them."""
        if not dropped:
            with psycopg.connect(database_url, autocommit=True) as conn:
                dropped.extend(conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                    "AND query LIKE %s", (f'%{settings.schema_name}%',),
                ).fetchall())

    with caplog.at_level("WARNING", logger="projections.replay"):
        again = build_report(generated, "compliance", as_of=as_of, known_at=as_of, progress=drop_the_replays_connection)

    assert dropped and "reading the log for a replay failed" in caplog.text
    assert again.figures == whole.figures and again.rows == whole.rows
