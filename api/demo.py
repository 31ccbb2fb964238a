"""A sample recruiter team, loaded through the application's commands, for `followup demo`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import holidays

from domain.application import Actor, FollowupApplication
from domain.calendar import calendar_for
from domain.policy import FollowUpPolicy
from domain.values import CareerStage, Channel, FollowUpStatus, InterviewFormat, NoteKind, Outcome, Role
from projections.queries import ItemFilters, TeamScope, follow_up_items_page
from projections.registry import open_workers

EASTERN = "America/New_York"
PACIFIC = "America/Los_Angeles"


@dataclass
class DemoTeam:
    """What the demo created: enough to print each recruiter's queue with names."""

    recruiters: dict[UUID, str] = field(default_factory=dict)
    api_keys: dict[UUID, str] = field(default_factory=dict)
    candidate_names: dict[UUID, str] = field(default_factory=dict)
    contact_names: dict[UUID, str] = field(default_factory=dict)
    candidacies_by_owner: dict[UUID, list[UUID]] = field(default_factory=lambda: defaultdict(list))


def _at(day: date, hour: int, minute: int, tz: str) -> datetime:
    return datetime.combine(day, time(hour, minute), ZoneInfo(tz))


def _last_business_day_before_a_recent_holiday(today: date) -> date:
    """The business day before the most recent US public holiday at least a week ago,
    so that the sample's 4-5 business-day window has a real holiday to skip."""
    us = holidays.country_holidays("US", years=[today.year - 1, today.year])
    calendar = calendar_for("US")
    for holiday_day in sorted(us, reverse=True):
        if holiday_day <= today - timedelta(days=7) and holiday_day.weekday() < 5:
            day = holiday_day - timedelta(days=1)
            while not calendar.is_business_day(day):
                day -= timedelta(days=1)
            return day
    raise AssertionError("no US holiday in the last two years")


def load_demo_team(app: FollowupApplication, actor: Actor) -> DemoTeam:
    team = DemoTeam()
    now = app.clock()
    today = now.astimezone(ZoneInfo(EASTERN)).date()

    def recruiter(name: str, role: Role, team_name: str | None) -> UUID:
        added = app.add_recruiter(name, role, team_name, by=actor)
        team.recruiters[added.result.id] = f"{name} ({role.value}{', ' + team_name if team_name else ''})"
        team.api_keys[added.result.id] = added.api_key
        return added.result.id

    def candidate(name: str, owner: UUID, specialty: str, stage: CareerStage, email: str) -> UUID:
        candidate_id = app.register_candidate(
            name, email=email, specialty=specialty, career_stage=stage, owner_id=owner, by=actor
        ).id
        team.candidate_names[candidate_id] = f"{name} ({specialty})"
        return candidate_id

    def contact(name: str, company: str, title: str) -> UUID:
        contact_id = app.add_contact(name, company, title=title, by=actor).id
        team.contact_names[contact_id] = f"{name}, {company}"
        return contact_id

    def candidacy(candidate_id: UUID, owner: UUID, company: str, position: str, tz: str) -> UUID:
        candidacy_id = app.open_candidacy(candidate_id, company, position, timezone=tz, by=actor).id
        team.candidacies_by_owner[owner].append(candidacy_id)
        return candidacy_id

    recruiter("Morgan Blake", Role.ADMIN, None)
    dana = recruiter("Dana Reyes", Role.RECRUITER, "Critical Care")
    chris = recruiter("Chris Okafor", Role.RECRUITER, "Travel & Allied")
    recruiter("Priya Nair", Role.ANALYST, "Critical Care")

    sam = candidate("Sam Patel", dana, "ICU RN", CareerStage.NEW_GRAD, "sam.patel@example.org")
    maria = candidate("Maria Gonzalez", dana, "ICU RN", CareerStage.EXPERIENCED, "maria.g@example.org")
    ana = candidate("Ana Silva", dana, "ER RN", CareerStage.EXPERIENCED, "ana.silva@example.org")
    tom = candidate("Tom Becker", chris, "OR Surgical Tech", CareerStage.EXPERIENCED, "tbecker@example.org")
    lena = candidate("Lena Fischer", chris, "Travel Respiratory Therapist", CareerStage.NEW_GRAD, "lena.f@example.org")

    lee = contact("Jordan Lee", "Mercy General", "ICU Nurse Manager")
    kim = contact("Alex Kim", "Mercy General", "Charge Nurse")
    moore = contact("Rachel Moore", "St. Luke's Medical Center", "Director of Nursing")
    haddad = contact("Omar Haddad", "Bayview Medical Center", "ER Nurse Manager")
    wong = contact("Lisa Wong", "Cedar Surgical Clinic", "Perioperative Manager")
    ortiz = contact("Diego Ortiz", "Pacific Coast Health", "Respiratory Care Director")

    def business_days_before(day: date, n: int) -> date:
        calendar = calendar_for("US")
        while n:
            day -= timedelta(days=1)
            if calendar.is_business_day(day):
                n -= 1
        return day

    # Sam: interviewed yesterday by two people; one thank-you sent, one still owed; no decision date.
    sam_at_mercy = candidacy(sam, dana, "Mercy General", "ICU RN (new grad residency)", EASTERN)
    sam_held = _at(today - timedelta(days=1), 10, 0, EASTERN)
    app.record_interview(sam_at_mercy, sam_held, [lee, kim], InterviewFormat.VIDEO, by=actor)
    app.send_note(sam_at_mercy, lee, NoteKind.THANK_YOU, Channel.EMAIL, sam_held + timedelta(hours=4), by=actor)

    # Maria: the director said they would decide in a few days; her thank-you went by post only.
    maria_at_st_lukes = candidacy(maria, dana, "St. Luke's Medical Center", "ICU RN, nights", EASTERN)
    maria_held = _at(business_days_before(today, 3), 14, 30, EASTERN)
    app.record_interview(maria_at_st_lukes, maria_held, [moore], InterviewFormat.IN_PERSON, by=actor)
    app.state_deadline(maria_at_st_lukes, today + timedelta(days=2), maria_held + timedelta(minutes=45), by=actor)
    app.send_note(maria_at_st_lukes, moore, NoteKind.THANK_YOU, Channel.HANDWRITTEN,
                  maria_held + timedelta(hours=20), by=actor)

    # Ana: interviewed the business day before a public holiday; no decision date; nothing since.
    ana_at_bayview = candidacy(ana, dana, "Bayview Medical Center", "ER RN", EASTERN)
    ana_held = _at(_last_business_day_before_a_recent_holiday(today), 11, 0, EASTERN)
    app.record_interview(ana_at_bayview, ana_held, [haddad], InterviewFormat.IN_PERSON, by=actor)
    app.send_note(ana_at_bayview, haddad, NoteKind.THANK_YOU, Channel.EMAIL, ana_held + timedelta(hours=30), by=actor)

    # Tom: hired after two rounds; now the relationship with the clinic is worth keeping.
    tom_at_cedar = candidacy(tom, chris, "Cedar Surgical Clinic", "OR Surgical Tech", PACIFIC)
    first_round = _at(today - timedelta(days=30), 9, 0, PACIFIC)
    second_round = _at(today - timedelta(days=21), 13, 0, PACIFIC)
    app.record_interview(tom_at_cedar, first_round, [wong], InterviewFormat.PHONE, by=actor)
    app.send_note(tom_at_cedar, wong, NoteKind.THANK_YOU, Channel.EMAIL, first_round + timedelta(hours=2), by=actor)
    app.record_interview(tom_at_cedar, second_round, [wong], InterviewFormat.IN_PERSON, by=actor)
    app.send_note(tom_at_cedar, wong, NoteKind.THANK_YOU, Channel.EMAIL, second_round + timedelta(hours=5), by=actor)
    app.send_check_in(tom_at_cedar, Channel.EMAIL, wong, second_round + timedelta(days=7), by=actor)
    app.record_outcome(tom_at_cedar, Outcome.HIRED, second_round + timedelta(days=10), by=actor)
    app.send_contact_note(wong, NoteKind.CONGRATULATIONS, Channel.LINKEDIN, second_round + timedelta(days=12), by=actor)

    # Lena: a check-in went out before the stated timeline had passed.
    lena_at_pacific = candidacy(lena, chris, "Pacific Coast Health", "Travel RT, 13 weeks", PACIFIC)
    lena_held = _at(business_days_before(today, 6), 8, 30, PACIFIC)
    app.record_interview(lena_at_pacific, lena_held, [ortiz], InterviewFormat.VIDEO, by=actor)
    app.state_deadline(lena_at_pacific, (lena_held + timedelta(days=5)).date(), lena_held + timedelta(minutes=30),
                       by=actor)
    app.send_note(lena_at_pacific, ortiz, NoteKind.THANK_YOU, Channel.EMAIL, lena_held + timedelta(hours=3), by=actor)
    app.send_check_in(lena_at_pacific, Channel.EMAIL, ortiz, lena_held + timedelta(days=2), by=actor)

    return team


def demo_queue(
    app: FollowupApplication, owner_id: UUID, as_of: datetime, policy: FollowUpPolicy
) -> list[dict[str, Any]]:
    """The owner's follow-up items as the API serves them: from the follow-up queue read model."""
    (worker,) = open_workers(app, policy=policy, names=["follow_up_queue"])
    try:
        worker.catch_up()
    finally:
        worker.close()
    schema = app.env.get("POSTGRES_SCHEMA") or "public"
    with app.recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]
        items = follow_up_items_page(
            conn, schema, now=as_of, scope=TeamScope(all_teams=True), filters=ItemFilters(owner_id=owner_id),
            statuses=[status.value for status in FollowUpStatus], after=None, limit=500,
        )
    # Overdue first, then by deadline.
    return sorted(items, key=lambda item: (item["status"] != FollowUpStatus.OVERDUE.value, item["due_by"]))
