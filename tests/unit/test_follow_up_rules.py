"""The follow-up rules, told as the recruiter's story: thank-yous, check-ins, staying in touch."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from domain.policy import FollowUpPolicy
from domain.rules import check_in_window, connect_linkedin_item, follow_up_items, status_at, stay_in_touch_item
from domain.values import (
    FLAG_EARLY,
    FLAG_HANDWRITTEN_ONLY,
    FLAG_LATE,
    CandidacyFacts,
    Channel,
    ContactFacts,
    FollowUpItem,
    FollowUpKind,
    FollowUpStatus,
    InterviewFormat,
    InterviewRound,
    NoteKind,
    Outcome,
    RecordedOutcome,
    SentCheckIn,
    SentNote,
    StatedDeadline,
)

NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
LONDON = ZoneInfo("Europe/London")
ONE_MICROSECOND = timedelta(microseconds=1)

ALICE = UUID(int=1)
BOB = UUID(int=2)
CANDIDACY = UUID(int=100)
CANDIDATE = UUID(int=200)


def new_york(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)


def candidacy(*, timezone: str = "America/New_York", **facts) -> CandidacyFacts:
    return CandidacyFacts(candidacy_id=CANDIDACY, candidate_id=CANDIDATE, timezone=timezone, **facts)


def interview(
    held_at: datetime, *interviewers: UUID, format: InterviewFormat = InterviewFormat.VIDEO
) -> InterviewRound:
    return InterviewRound(held_at=held_at, interviewer_ids=interviewers, format=format)


def thank_you(contact_id: UUID, sent_at: datetime, channel: Channel = Channel.EMAIL) -> SentNote:
    return SentNote(contact_id=contact_id, kind=NoteKind.THANK_YOU, channel=channel, sent_at=sent_at)


def helpful_note(contact_id: UUID, sent_at: datetime) -> SentNote:
    return SentNote(contact_id=contact_id, kind=NoteKind.HELPFUL_INFO, channel=Channel.EMAIL, sent_at=sent_at)


def check_in(sent_at: datetime, contact_id: UUID | None = None) -> SentCheckIn:
    return SentCheckIn(channel=Channel.EMAIL, sent_at=sent_at, contact_id=contact_id)


def deadline(decide_by: date, stated_at: datetime) -> StatedDeadline:
    return StatedDeadline(decide_by=decide_by, stated_at=stated_at)


def of_kind(kind: FollowUpKind, items: list[FollowUpItem]) -> list[FollowUpItem]:
    return [item for item in items if item.kind is kind]


def the_one(kind: FollowUpKind, items: list[FollowUpItem], contact_id: UUID | None = None) -> FollowUpItem:
    matching = [item for item in of_kind(kind, items) if item.contact_id == contact_id]
    assert len(matching) == 1, matching
    return matching[0]


# Wednesday 25 November 2026, the day before Thanksgiving.
THANKSGIVING_EVE_INTERVIEW = interview(new_york(2026, 11, 25, 10), ALICE, BOB)


# Thank-you notes


def test_each_interviewer_is_owed_a_thank_you_within_24_hours():
    facts = candidacy(interviews=(THANKSGIVING_EVE_INTERVIEW,))

    items = of_kind(FollowUpKind.THANK_YOU, follow_up_items(facts, new_york(2026, 11, 25, 12)))

    assert {item.contact_id for item in items} == {ALICE, BOB}
    for item in items:
        assert item.opened_at == item.due_from == new_york(2026, 11, 25, 10)
        assert item.due_by == new_york(2026, 11, 26, 10)
        assert item.status is FollowUpStatus.DUE
        assert item.reason == "Thank-you note within 24 hours of the video interview on Wed 25 Nov 2026 10:00 EST"
        assert item.candidacy_id == CANDIDACY and item.candidate_id == CANDIDATE


def test_a_thank_you_sent_on_time_is_done():
    facts = candidacy(interviews=(THANKSGIVING_EVE_INTERVIEW,), notes=(thank_you(ALICE, new_york(2026, 11, 25, 18)),))

    items = follow_up_items(facts, new_york(2026, 11, 27, 9))

    alice = the_one(FollowUpKind.THANK_YOU, items, ALICE)
    assert alice.status is FollowUpStatus.DONE
    assert alice.done_at == new_york(2026, 11, 25, 18)
    assert alice.flags == ()
    assert the_one(FollowUpKind.THANK_YOU, items, BOB).status is FollowUpStatus.OVERDUE


def test_the_thank_you_is_due_24_real_hours_later_even_when_the_clocks_change():
    # Clocks went back at 02:00 on Sunday 1 November 2026 in New York.
    saturday_interview = interview(new_york(2026, 10, 31, 10), ALICE)
    same_interview_in_utc = interview(datetime(2026, 10, 31, 14, tzinfo=timezone.utc), ALICE)

    for round_ in (saturday_interview, same_interview_in_utc):
        facts = candidacy(interviews=(round_,))
        alice = the_one(FollowUpKind.THANK_YOU, follow_up_items(facts, new_york(2026, 10, 31, 12)), ALICE)
        assert alice.due_by == new_york(2026, 11, 1, 9)
        assert alice.due_by == datetime(2026, 11, 1, 14, tzinfo=timezone.utc)


def test_a_late_thank_you_is_done_but_flagged_late():
    facts = candidacy(interviews=(THANKSGIVING_EVE_INTERVIEW,), notes=(thank_you(ALICE, new_york(2026, 11, 26, 11)),))

    alice = the_one(FollowUpKind.THANK_YOU, follow_up_items(facts, new_york(2026, 11, 27)), ALICE)

    assert alice.status is FollowUpStatus.DONE
    assert alice.done_at == new_york(2026, 11, 26, 11)
    assert alice.flags == (FLAG_LATE,)


def test_a_handwritten_only_thank_you_is_flagged():
    facts = candidacy(
        interviews=(THANKSGIVING_EVE_INTERVIEW,),
        notes=(thank_you(ALICE, new_york(2026, 11, 25, 15), Channel.HANDWRITTEN),),
    )

    alice = the_one(FollowUpKind.THANK_YOU, follow_up_items(facts, new_york(2026, 11, 27)), ALICE)

    assert alice.status is FollowUpStatus.DONE
    assert alice.flags == (FLAG_HANDWRITTEN_ONLY,)


def test_a_handwritten_thank_you_backed_by_an_email_is_not_flagged():
    facts = candidacy(
        interviews=(THANKSGIVING_EVE_INTERVIEW,),
        notes=(
            thank_you(ALICE, new_york(2026, 11, 25, 15), Channel.HANDWRITTEN),
            thank_you(ALICE, new_york(2026, 11, 25, 16), Channel.EMAIL),
        ),
    )

    alice = the_one(FollowUpKind.THANK_YOU, follow_up_items(facts, new_york(2026, 11, 27)), ALICE)

    assert alice.done_at == new_york(2026, 11, 25, 15)
    assert alice.flags == ()


def test_a_thank_you_sent_before_the_interview_does_not_count():
    facts = candidacy(interviews=(THANKSGIVING_EVE_INTERVIEW,), notes=(thank_you(ALICE, new_york(2026, 11, 25, 9)),))

    alice = the_one(FollowUpKind.THANK_YOU, follow_up_items(facts, new_york(2026, 11, 25, 12)), ALICE)

    assert alice.status is FollowUpStatus.DUE
    assert alice.done_at is None


def test_another_kind_of_note_is_not_a_thank_you():
    facts = candidacy(
        interviews=(THANKSGIVING_EVE_INTERVIEW,), notes=(helpful_note(ALICE, new_york(2026, 11, 25, 12)),)
    )

    alice = the_one(FollowUpKind.THANK_YOU, follow_up_items(facts, new_york(2026, 11, 25, 13)), ALICE)

    assert alice.status is FollowUpStatus.DUE


# Check-ins


def test_check_in_is_1_to_2_business_days_after_the_stated_decision_date():
    facts = candidacy(
        interviews=(THANKSGIVING_EVE_INTERVIEW,),
        deadlines=(deadline(date(2026, 12, 4), new_york(2026, 11, 25, 10, 45)),),
    )

    item = the_one(FollowUpKind.CHECK_IN, follow_up_items(facts, new_york(2026, 11, 30)))

    # Friday 4 December: Monday 7 and Tuesday 8 December.
    assert item.due_from == new_york(2026, 12, 7)
    assert item.due_by == datetime(2026, 12, 8, 23, 59, 59, 999999, tzinfo=NEW_YORK)
    assert item.opened_at == new_york(2026, 11, 25, 10)
    assert item.contact_id is None
    assert item.status is FollowUpStatus.UPCOMING
    assert item.reason == "Decision expected by Fri 4 Dec 2026: check in 1-2 business days after it"


def test_without_a_decision_date_check_in_is_4_to_5_business_days_after_the_interview_skipping_thanksgiving():
    facts = candidacy(interviews=(THANKSGIVING_EVE_INTERVIEW,))

    item = the_one(FollowUpKind.CHECK_IN, follow_up_items(facts, new_york(2026, 11, 25, 12)))

    # After Wed 25 Nov: Thu 26 is Thanksgiving, then Fri 27 (1), Mon 30 (2), Tue 1 (3), Wed 2 (4), Thu 3 (5).
    assert item.due_from == new_york(2026, 12, 2)
    assert item.due_by == datetime(2026, 12, 3, 23, 59, 59, 999999, tzinfo=NEW_YORK)
    assert item.reason == (
        "No decision date given: 4-5 business days after the interview on Wed 25 Nov 2026 (Thanksgiving Day skipped)"
    )


def test_check_in_window_skips_the_weekend():
    monday_interview = new_york(2026, 3, 2, 10)

    without_deadline = check_in_window(monday_interview, None, timezone="America/New_York")
    with_friday_deadline = check_in_window(monday_interview, date(2026, 3, 6), timezone="America/New_York")

    assert (without_deadline.first_day, without_deadline.last_day) == (date(2026, 3, 6), date(2026, 3, 9))
    assert (with_friday_deadline.first_day, with_friday_deadline.last_day) == (date(2026, 3, 9), date(2026, 3, 10))
    assert "skipped" not in without_deadline.basis_reason


def test_check_in_window_skips_christmas_and_new_years_day():
    facts = candidacy(interviews=(interview(new_york(2026, 12, 24, 10), ALICE),))

    item = the_one(FollowUpKind.CHECK_IN, follow_up_items(facts, new_york(2026, 12, 24, 12)))

    # After Thu 24 Dec: Fri 25 is Christmas, Mon 28 (1), Tue 29 (2), Wed 30 (3), Thu 31 (4),
    # Fri 1 Jan is New Year's Day, Mon 4 Jan (5).
    assert item.due_from == new_york(2026, 12, 31)
    assert item.due_by == datetime(2027, 1, 4, 23, 59, 59, 999999, tzinfo=NEW_YORK)
    assert item.reason.endswith("(Christmas Day and New Year's Day skipped)")


def test_check_in_counts_from_the_local_date_not_the_utc_date_near_midnight():
    # Monday 2 March 2026 at 23:30 in Los Angeles is already Tuesday in UTC.
    late_evening = datetime(2026, 3, 2, 23, 30, tzinfo=LOS_ANGELES)
    facts = candidacy(timezone="America/Los_Angeles", interviews=(interview(late_evening, ALICE),))

    item = the_one(FollowUpKind.CHECK_IN, follow_up_items(facts, late_evening))

    # From Monday: Fri 6 (4) to Mon 9 March (5); counting from Tuesday would give Mon 9 to Tue 10.
    assert item.due_from == datetime(2026, 3, 6, tzinfo=LOS_ANGELES)
    assert item.due_from == datetime(2026, 3, 6, 8, tzinfo=timezone.utc)
    # Clocks went forward on Sunday 8 March: the end of Monday 9 is at 06:59:59.999999 UTC.
    assert item.due_by == datetime(2026, 3, 10, 6, 59, 59, 999999, tzinfo=timezone.utc)
    assert "Mon 2 Mar 2026" in item.reason

    in_utc = check_in_window(late_evening, None, timezone="UTC")
    assert (in_utc.first_day, in_utc.last_day) == (date(2026, 3, 9), date(2026, 3, 10))


def test_a_later_deadline_replaces_an_earlier_one():
    facts = candidacy(
        interviews=(THANKSGIVING_EVE_INTERVIEW,),
        deadlines=(
            deadline(date(2026, 12, 4), new_york(2026, 11, 25, 10, 45)),
            deadline(date(2026, 12, 11), new_york(2026, 11, 30, 9)),
        ),
    )

    item = the_one(FollowUpKind.CHECK_IN, follow_up_items(facts, new_york(2026, 12, 1)))

    # Friday 11 December: Monday 14 and Tuesday 15 December.
    assert item.due_from == new_york(2026, 12, 14)
    assert item.due_by == datetime(2026, 12, 15, 23, 59, 59, 999999, tzinfo=NEW_YORK)
    assert item.reason == "Decision expected by Fri 11 Dec 2026: check in 1-2 business days after it"


def test_a_decision_date_before_the_interview_date_is_ignored():
    facts = candidacy(
        interviews=(THANKSGIVING_EVE_INTERVIEW,),
        deadlines=(deadline(date(2026, 11, 23), new_york(2026, 11, 20, 15)),),
    )

    item = the_one(FollowUpKind.CHECK_IN, follow_up_items(facts, new_york(2026, 11, 25, 12)))

    assert item.due_from == new_york(2026, 12, 2)
    assert item.due_by == datetime(2026, 12, 3, 23, 59, 59, 999999, tzinfo=NEW_YORK)
    assert item.reason == (
        "Decision date Mon 23 Nov 2026 is before the interview on Wed 25 Nov 2026: "
        "4-5 business days after the interview (Thanksgiving Day skipped)"
    )


def test_a_decision_date_on_the_interview_day_counts_as_a_timeline():
    facts = candidacy(
        interviews=(THANKSGIVING_EVE_INTERVIEW,),
        deadlines=(deadline(date(2026, 11, 25), new_york(2026, 11, 25, 10, 30)),),
    )

    item = the_one(FollowUpKind.CHECK_IN, follow_up_items(facts, new_york(2026, 11, 25, 12)))

    # Fri 27 Nov (1) and Mon 30 Nov (2), Thanksgiving skipped.
    assert item.due_from == new_york(2026, 11, 27)
    assert item.due_by == datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=NEW_YORK)
    assert item.reason.endswith("check in 1-2 business days after it (Thanksgiving Day skipped)")


def test_a_check_in_within_the_window_is_done_without_flags():
    facts = candidacy(interviews=(THANKSGIVING_EVE_INTERVIEW,), check_ins=(check_in(new_york(2026, 12, 2, 9)),))

    item = the_one(FollowUpKind.CHECK_IN, follow_up_items(facts, new_york(2026, 12, 5)))

    assert item.status is FollowUpStatus.DONE
    assert item.done_at == new_york(2026, 12, 2, 9)
    assert item.flags == ()


def test_an_early_check_in_is_done_but_flagged_early():
    facts = candidacy(interviews=(THANKSGIVING_EVE_INTERVIEW,), check_ins=(check_in(new_york(2026, 11, 30, 9)),))

    item = the_one(FollowUpKind.CHECK_IN, follow_up_items(facts, new_york(2026, 12, 5)))

    assert item.status is FollowUpStatus.DONE
    assert item.done_at == new_york(2026, 11, 30, 9)
    assert item.flags == (FLAG_EARLY,)


def test_a_late_check_in_is_done_but_flagged_late():
    facts = candidacy(interviews=(THANKSGIVING_EVE_INTERVIEW,), check_ins=(check_in(new_york(2026, 12, 4, 9)),))

    item = the_one(FollowUpKind.CHECK_IN, follow_up_items(facts, new_york(2026, 12, 5)))

    assert item.status is FollowUpStatus.DONE
    assert item.flags == (FLAG_LATE,)


def test_with_several_rounds_check_in_counts_from_the_latest_and_each_round_is_owed_thank_yous():
    first_round = interview(new_york(2026, 3, 2, 10), ALICE)
    second_round = interview(new_york(2026, 3, 9, 14), ALICE, BOB)
    facts = candidacy(
        interviews=(second_round, first_round),  # recorded order does not matter
        # Sent between the rounds: it does not answer the second round.
        check_ins=(check_in(new_york(2026, 3, 6, 9)),),
    )

    items = follow_up_items(facts, new_york(2026, 3, 10))

    thank_yous = of_kind(FollowUpKind.THANK_YOU, items)
    assert sorted((item.opened_at, item.contact_id) for item in thank_yous) == [
        (first_round.held_at, ALICE),
        (second_round.held_at, ALICE),
        (second_round.held_at, BOB),
    ]
    check = the_one(FollowUpKind.CHECK_IN, items)
    assert check.opened_at == second_round.held_at
    assert check.status is FollowUpStatus.UPCOMING
    # After Mon 9 March: Fri 13 (4) and Mon 16 March (5).
    assert check.due_from == new_york(2026, 3, 13)
    assert check.due_by == datetime(2026, 3, 16, 23, 59, 59, 999999, tzinfo=NEW_YORK)


def test_a_thank_you_after_a_later_round_also_answers_the_earlier_round_late():
    first_round = interview(new_york(2026, 3, 2, 10), ALICE)
    second_round = interview(new_york(2026, 3, 9, 14), ALICE)
    facts = candidacy(interviews=(first_round, second_round), notes=(thank_you(ALICE, new_york(2026, 3, 9, 16)),))

    thank_yous = of_kind(FollowUpKind.THANK_YOU, follow_up_items(facts, new_york(2026, 3, 10)))

    by_round = {item.opened_at: item for item in thank_yous}
    assert by_round[first_round.held_at].status is FollowUpStatus.DONE
    assert by_round[first_round.held_at].flags == (FLAG_LATE,)
    assert by_round[second_round.held_at].status is FollowUpStatus.DONE
    assert by_round[second_round.held_at].flags == ()


def test_a_new_deadline_after_a_check_in_opens_a_new_check_in_item():
    first_check_in = check_in(new_york(2026, 12, 7, 10))
    facts = candidacy(
        interviews=(THANKSGIVING_EVE_INTERVIEW,),
        deadlines=(
            deadline(date(2026, 12, 4), new_york(2026, 11, 25, 10, 45)),
            # The reply to the check-in: "we need two more weeks".
            deadline(date(2026, 12, 18), new_york(2026, 12, 7, 15)),
        ),
        # Sent after the first check-in but before the new deadline: it answers neither.
        check_ins=(first_check_in, check_in(new_york(2026, 12, 7, 12))),
    )

    done, reopened = of_kind(FollowUpKind.CHECK_IN, follow_up_items(facts, new_york(2026, 12, 8, 9)))

    assert done.status is FollowUpStatus.DONE
    assert done.done_at == first_check_in.sent_at
    assert done.opened_at == new_york(2026, 11, 25, 10)
    assert done.due_from == new_york(2026, 12, 7)
    assert done.flags == ()
    assert reopened.status is FollowUpStatus.UPCOMING
    assert reopened.opened_at == new_york(2026, 12, 7, 15)
    # Friday 18 December: Monday 21 and Tuesday 22 December.
    assert reopened.due_from == new_york(2026, 12, 21)
    assert reopened.due_by == datetime(2026, 12, 22, 23, 59, 59, 999999, tzinfo=NEW_YORK)
    assert reopened.reason == "Decision expected by Fri 18 Dec 2026: check in 1-2 business days after it"


def test_a_check_in_after_the_new_deadline_closes_the_reopened_item():
    facts = candidacy(
        interviews=(THANKSGIVING_EVE_INTERVIEW,),
        deadlines=(
            deadline(date(2026, 12, 4), new_york(2026, 11, 25, 10, 45)),
            deadline(date(2026, 12, 18), new_york(2026, 12, 7, 15)),
        ),
        check_ins=(check_in(new_york(2026, 12, 7, 10)), check_in(new_york(2026, 12, 21, 11))),
    )

    check_ins = of_kind(FollowUpKind.CHECK_IN, follow_up_items(facts, new_york(2026, 12, 28)))

    assert [item.status for item in check_ins] == [FollowUpStatus.DONE, FollowUpStatus.DONE]
    assert check_ins[1].done_at == new_york(2026, 12, 21, 11)
    assert check_ins[1].flags == ()


def test_no_interview_means_nothing_is_owed_yet():
    facts = candidacy(deadlines=(deadline(date(2026, 12, 4), new_york(2026, 11, 20)),))

    assert follow_up_items(facts, new_york(2026, 12, 1)) == []


# After the outcome


def test_an_outcome_closes_the_open_check_in_and_opens_linkedin_and_stay_in_touch_for_every_interviewer():
    decided = new_york(2026, 12, 1, 16)
    facts = candidacy(
        interviews=(THANKSGIVING_EVE_INTERVIEW,),
        outcome=RecordedOutcome(outcome=Outcome.REJECTED, occurred_at=decided),
    )

    items = follow_up_items(facts, new_york(2026, 12, 2, 9))

    assert of_kind(FollowUpKind.CHECK_IN, items) == []
    for contact_id in (ALICE, BOB):
        connect = the_one(FollowUpKind.CONNECT_LINKEDIN, items, contact_id)
        assert connect.opened_at == connect.due_from == decided
        assert connect.due_by == decided + timedelta(days=7)
        assert connect.status is FollowUpStatus.DUE
        assert connect.reason == "Outcome (rejected) recorded on Tue 1 Dec 2026: connect on LinkedIn within 7 days"

        keep_in_touch = the_one(FollowUpKind.STAY_IN_TOUCH, items, contact_id)
        assert keep_in_touch.opened_at == THANKSGIVING_EVE_INTERVIEW.held_at
        assert keep_in_touch.due_from == new_york(2027, 2, 23, 10)
        assert keep_in_touch.due_by == new_york(2027, 3, 9, 10)
        assert keep_in_touch.status is FollowUpStatus.UPCOMING
        assert keep_in_touch.done_at is None
        assert keep_in_touch.reason == (
            "Stay in touch: last touch on Wed 25 Nov 2026; a helpful note or congratulations every 90 days"
        )


def test_an_outcome_keeps_a_check_in_already_sent():
    facts = candidacy(
        interviews=(THANKSGIVING_EVE_INTERVIEW,),
        check_ins=(check_in(new_york(2026, 12, 2, 9)),),
        outcome=RecordedOutcome(outcome=Outcome.OFFER, occurred_at=new_york(2026, 12, 4, 11)),
    )

    item = the_one(FollowUpKind.CHECK_IN, follow_up_items(facts, new_york(2026, 12, 5)))

    assert item.status is FollowUpStatus.DONE


def test_connecting_on_linkedin_closes_the_connect_item():
    decided = new_york(2026, 12, 1, 16)
    facts = candidacy(
        interviews=(THANKSGIVING_EVE_INTERVIEW,),
        outcome=RecordedOutcome(outcome=Outcome.HIRED, occurred_at=decided),
    )
    contacts = {
        # Already connected before the outcome: simply done then.
        ALICE: ContactFacts(contact_id=ALICE, linkedin_connected_at=new_york(2026, 11, 26, 9)),
        BOB: ContactFacts(contact_id=BOB, linkedin_connected_at=new_york(2026, 12, 3, 9)),
    }

    before_bob_connects = follow_up_items(facts, new_york(2026, 12, 2), contacts=contacts)
    after_bob_connects = follow_up_items(facts, new_york(2026, 12, 4), contacts=contacts)

    alice = the_one(FollowUpKind.CONNECT_LINKEDIN, before_bob_connects, ALICE)
    assert alice.status is FollowUpStatus.DONE
    assert alice.done_at == new_york(2026, 11, 26, 9)
    assert alice.flags == ()
    assert the_one(FollowUpKind.CONNECT_LINKEDIN, before_bob_connects, BOB).status is FollowUpStatus.DUE
    bob = the_one(FollowUpKind.CONNECT_LINKEDIN, after_bob_connects, BOB)
    assert bob.status is FollowUpStatus.DONE
    assert bob.done_at == new_york(2026, 12, 3, 9)


def test_stay_in_touch_recurs_from_the_latest_touch():
    facts = candidacy(
        interviews=(THANKSGIVING_EVE_INTERVIEW,),
        outcome=RecordedOutcome(outcome=Outcome.REJECTED, occurred_at=new_york(2026, 12, 1, 16)),
        notes=(helpful_note(ALICE, new_york(2027, 2, 1, 9)),),
    )

    items = follow_up_items(facts, new_york(2027, 2, 2))

    alice = the_one(FollowUpKind.STAY_IN_TOUCH, items, ALICE)
    assert alice.opened_at == new_york(2027, 2, 1, 9)
    # 90 days of elapsed time: clocks went forward on 14 March, so 10:00 on the summer clock.
    assert alice.due_from == datetime(2027, 5, 2, 14, tzinfo=timezone.utc)
    assert alice.due_by == datetime(2027, 5, 16, 14, tzinfo=timezone.utc)
    assert alice.status is FollowUpStatus.UPCOMING
    assert alice.reason == (
        "Stay in touch: last touch on Mon 1 Feb 2027; a helpful note or congratulations every 90 days"
    )
    # Bob was not written to: his next touch is still counted from the interview.
    assert the_one(FollowUpKind.STAY_IN_TOUCH, items, BOB).opened_at == THANKSGIVING_EVE_INTERVIEW.held_at


def test_a_touch_from_another_candidacy_moves_stay_in_touch():
    facts = candidacy(
        interviews=(THANKSGIVING_EVE_INTERVIEW,),
        outcome=RecordedOutcome(outcome=Outcome.REJECTED, occurred_at=new_york(2026, 12, 1, 16)),
    )
    elsewhere = new_york(2027, 3, 1, 11)
    not_yet = new_york(2027, 6, 1, 11)
    contacts = {ALICE: ContactFacts(contact_id=ALICE, touches=(elsewhere, not_yet))}

    items = follow_up_items(facts, new_york(2027, 3, 2), contacts=contacts)

    alice = the_one(FollowUpKind.STAY_IN_TOUCH, items, ALICE)
    assert alice.opened_at == elsewhere
    assert alice.due_from == datetime(2027, 5, 30, 16, tzinfo=timezone.utc)


def test_stay_in_touch_becomes_overdue_after_the_grace_period():
    facts = candidacy(
        interviews=(THANKSGIVING_EVE_INTERVIEW,),
        outcome=RecordedOutcome(outcome=Outcome.REJECTED, occurred_at=new_york(2026, 12, 1, 16)),
    )

    due = the_one(FollowUpKind.STAY_IN_TOUCH, follow_up_items(facts, new_york(2027, 3, 1)), ALICE)
    overdue = the_one(FollowUpKind.STAY_IN_TOUCH, follow_up_items(facts, new_york(2027, 3, 10)), ALICE)

    assert due.status is FollowUpStatus.DUE
    assert overdue.status is FollowUpStatus.OVERDUE


def test_an_erased_contact_is_owed_no_more_outreach_from_the_erasure_on():
    facts = candidacy(
        interviews=(THANKSGIVING_EVE_INTERVIEW,),
        outcome=RecordedOutcome(outcome=Outcome.REJECTED, occurred_at=new_york(2026, 12, 1, 16)),
    )
    erased_at = new_york(2027, 1, 4, 9)
    contacts = {ALICE: ContactFacts(contact_id=ALICE, erased_at=erased_at)}

    def outreach(as_of: datetime) -> set[tuple[FollowUpKind, UUID | None]]:
        return {(item.kind, item.contact_id) for item in follow_up_items(facts, as_of, contacts=contacts)
                if item.kind in (FollowUpKind.CONNECT_LINKEDIN, FollowUpKind.STAY_IN_TOUCH)}

    everyone = {(kind, contact) for kind in (FollowUpKind.CONNECT_LINKEDIN, FollowUpKind.STAY_IN_TOUCH)
                for contact in (ALICE, BOB)}
    assert outreach(erased_at - timedelta(minutes=1)) == everyone
    assert outreach(erased_at) == {item for item in everyone if item[1] == BOB}
    # The thank-you owed for the interview is history, and stays.
    assert the_one(FollowUpKind.THANK_YOU, follow_up_items(facts, erased_at, contacts=contacts), ALICE)
    # One interviewer at a time, as the queue computes them again when a contact changes.
    for rule in (stay_in_touch_item, connect_linkedin_item):
        assert rule(facts, ALICE, erased_at, contact=contacts[ALICE]) is None
        assert rule(facts, ALICE, erased_at - timedelta(minutes=1), contact=contacts[ALICE]) is not None


# Time, statuses, policy, calendars


def test_as_of_in_the_past_ignores_what_happened_later():
    facts = candidacy(
        interviews=(THANKSGIVING_EVE_INTERVIEW,),
        notes=(thank_you(ALICE, new_york(2026, 11, 27, 9)),),
        deadlines=(deadline(date(2026, 12, 11), new_york(2026, 11, 30, 9)),),
        outcome=RecordedOutcome(outcome=Outcome.OFFER, occurred_at=new_york(2026, 12, 10)),
    )

    items = follow_up_items(facts, new_york(2026, 11, 26, 12))

    alice = the_one(FollowUpKind.THANK_YOU, items, ALICE)
    assert alice.status is FollowUpStatus.OVERDUE
    assert alice.done_at is None and alice.flags == ()
    assert the_one(FollowUpKind.CHECK_IN, items).due_from == new_york(2026, 12, 2)
    assert of_kind(FollowUpKind.CONNECT_LINKEDIN, items) == []
    assert of_kind(FollowUpKind.STAY_IN_TOUCH, items) == []


def test_an_interview_not_yet_held_owes_nothing():
    facts = candidacy(interviews=(THANKSGIVING_EVE_INTERVIEW,))

    assert follow_up_items(facts, new_york(2026, 11, 25, 9, 59)) == []


def test_statuses_at_the_boundaries_of_the_check_in_window():
    facts = candidacy(interviews=(THANKSGIVING_EVE_INTERVIEW,))
    window = the_one(FollowUpKind.CHECK_IN, follow_up_items(facts, new_york(2026, 11, 25, 12)))

    def status(as_of: datetime) -> FollowUpStatus:
        return the_one(FollowUpKind.CHECK_IN, follow_up_items(facts, as_of)).status

    assert status(window.due_from - ONE_MICROSECOND) is FollowUpStatus.UPCOMING
    assert status(window.due_from) is FollowUpStatus.DUE
    assert status(window.due_by) is FollowUpStatus.DUE
    assert status(window.due_by + ONE_MICROSECOND) is FollowUpStatus.OVERDUE


def test_statuses_at_the_boundaries_of_the_thank_you():
    facts = candidacy(interviews=(THANKSGIVING_EVE_INTERVIEW,))
    held_at = THANKSGIVING_EVE_INTERVIEW.held_at

    def status(as_of: datetime) -> FollowUpStatus:
        return the_one(FollowUpKind.THANK_YOU, follow_up_items(facts, as_of), ALICE).status

    assert status(held_at) is FollowUpStatus.DUE
    assert status(held_at + timedelta(hours=24)) is FollowUpStatus.DUE
    assert status(held_at + timedelta(hours=24) + ONE_MICROSECOND) is FollowUpStatus.OVERDUE


def test_status_is_done_only_once_the_follow_up_has_happened():
    due_from, due_by = new_york(2026, 12, 2), new_york(2026, 12, 3, 23)
    done_at = new_york(2026, 12, 2, 10)

    assert status_at(due_from, due_by, done_at, done_at) is FollowUpStatus.DONE
    assert status_at(due_from, due_by, done_at, done_at - ONE_MICROSECOND) is FollowUpStatus.DUE
    assert status_at(due_from, due_by, None, due_from - ONE_MICROSECOND) is FollowUpStatus.UPCOMING
    assert status_at(due_from, due_by, None, due_by + ONE_MICROSECOND) is FollowUpStatus.OVERDUE
    # Done early, before the window: done all the same.
    assert status_at(due_from, due_by, new_york(2026, 11, 30), new_york(2026, 12, 1)) is FollowUpStatus.DONE


def test_policy_numbers_can_be_overridden():
    policy = FollowUpPolicy(
        thank_you_hours=48,
        no_deadline_first_business_day=2,
        no_deadline_last_business_day=3,
        stay_in_touch_days=30,
        stay_in_touch_grace_days=0,
        connect_linkedin_days=3,
    )
    decided = new_york(2026, 12, 1, 16)
    facts = candidacy(interviews=(THANKSGIVING_EVE_INTERVIEW,))
    decided_facts = candidacy(
        interviews=(THANKSGIVING_EVE_INTERVIEW,),
        outcome=RecordedOutcome(outcome=Outcome.REJECTED, occurred_at=decided),
    )

    items = follow_up_items(facts, new_york(2026, 11, 25, 12), policy=policy)
    after_outcome = follow_up_items(decided_facts, decided, policy=policy)

    alice = the_one(FollowUpKind.THANK_YOU, items, ALICE)
    assert alice.due_by == new_york(2026, 11, 27, 10)
    assert alice.reason.startswith("Thank-you note within 48 hours")
    check = the_one(FollowUpKind.CHECK_IN, items)
    # Fri 27 Nov (1), Mon 30 Nov (2), Tue 1 Dec (3).
    assert check.due_from == new_york(2026, 11, 30)
    assert check.due_by == datetime(2026, 12, 1, 23, 59, 59, 999999, tzinfo=NEW_YORK)
    assert check.reason.startswith("No decision date given: 2-3 business days after the interview")
    assert the_one(FollowUpKind.CONNECT_LINKEDIN, after_outcome, ALICE).due_by == decided + timedelta(days=3)
    keep_in_touch = the_one(FollowUpKind.STAY_IN_TOUCH, after_outcome, ALICE)
    assert keep_in_touch.due_from == keep_in_touch.due_by == new_york(2026, 12, 25, 10)
    assert keep_in_touch.reason.endswith("every 30 days")


def test_a_state_holiday_is_skipped_for_a_candidacy_in_that_state():
    # Patriots' Day, Monday 20 April 2026, is a holiday in Massachusetts only.
    monday_interview = interview(new_york(2026, 4, 13, 10), ALICE)
    in_massachusetts = CandidacyFacts(
        candidacy_id=CANDIDACY, candidate_id=CANDIDATE, timezone="America/New_York",
        country="US", subdivision="MA", interviews=(monday_interview,),
    )
    elsewhere_in_us = candidacy(interviews=(monday_interview,))

    boston = the_one(FollowUpKind.CHECK_IN, follow_up_items(in_massachusetts, new_york(2026, 4, 14)))
    new_york_city = the_one(FollowUpKind.CHECK_IN, follow_up_items(elsewhere_in_us, new_york(2026, 4, 14)))

    assert (boston.due_from, boston.due_by.date()) == (new_york(2026, 4, 17), date(2026, 4, 21))
    assert boston.reason.endswith("(Patriots' Day skipped)")
    assert (new_york_city.due_from, new_york_city.due_by.date()) == (new_york(2026, 4, 17), date(2026, 4, 20))


def test_a_british_candidacy_follows_the_british_holidays():
    tuesday_interview = interview(datetime(2026, 12, 22, 10, tzinfo=LONDON), ALICE)
    in_britain = CandidacyFacts(
        candidacy_id=CANDIDACY, candidate_id=CANDIDATE, timezone="Europe/London",
        country="GB", interviews=(tuesday_interview,),
    )

    item = the_one(FollowUpKind.CHECK_IN, follow_up_items(in_britain, datetime(2026, 12, 22, 12, tzinfo=LONDON)))

    # After Tue 22 Dec: Wed 23 (1), Thu 24 (2), Fri 25 Christmas, Mon 28 Boxing Day (observed),
    # Tue 29 (3), Wed 30 (4), Thu 31 (5). In the US, Monday 28 counts: Tue 29 to Wed 30.
    assert item.due_from == datetime(2026, 12, 30, tzinfo=LONDON)
    assert item.due_by == datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=LONDON)
    assert item.reason.endswith("(Christmas Day and Boxing Day (observed) skipped)")
    assert "GMT" in the_one(FollowUpKind.THANK_YOU, follow_up_items(in_britain, item.due_from), ALICE).reason
    american = check_in_window(tuesday_interview.held_at, None, timezone="Europe/London")
    assert (american.first_day, american.last_day) == (date(2026, 12, 29), date(2026, 12, 30))


def test_naive_datetimes_are_refused():
    facts = candidacy(interviews=(THANKSGIVING_EVE_INTERVIEW,))

    with pytest.raises(ValueError, match="naive"):
        follow_up_items(facts, datetime(2026, 11, 25, 12))
    with pytest.raises(ValueError, match="naive"):
        check_in_window(datetime(2026, 11, 25, 10), None, timezone="America/New_York")
    with pytest.raises(ValueError, match="naive"):
        status_at(new_york(2026, 12, 2), new_york(2026, 12, 3), None, datetime(2026, 12, 2, 12))


def test_items_come_in_order_of_due_by_then_kind_then_contact():
    facts = candidacy(
        interviews=(THANKSGIVING_EVE_INTERVIEW,),
        outcome=RecordedOutcome(outcome=Outcome.REJECTED, occurred_at=new_york(2026, 12, 1, 16)),
    )

    items = follow_up_items(facts, new_york(2026, 12, 2))

    assert [(item.kind, item.contact_id) for item in items] == [
        (FollowUpKind.THANK_YOU, ALICE),
        (FollowUpKind.THANK_YOU, BOB),
        (FollowUpKind.CONNECT_LINKEDIN, ALICE),
        (FollowUpKind.CONNECT_LINKEDIN, BOB),
        (FollowUpKind.STAY_IN_TOUCH, ALICE),
        (FollowUpKind.STAY_IN_TOUCH, BOB),
    ]

