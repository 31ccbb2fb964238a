"""The follow-up rules (DESIGN section 3) as pure functions: candidacy facts in, follow-up items out."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from operator import attrgetter, is_
from typing import NamedTuple, TypeVar
from uuid import UUID

from domain.calendar import calendar_for, end_of_day, local_date, local_datetime, start_of_day
from domain.policy import DEFAULT_POLICY, FollowUpPolicy
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
    NoteKind,
    RecordedOutcome,
    SentCheckIn,
    SentNote,
    StatedDeadline,
)

# English names regardless of the process locale, which strftime would follow.
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_FORMAT_WORDS = {
    InterviewFormat.IN_PERSON: "in-person",
    InterviewFormat.PHONE: "phone",
    InterviewFormat.VIDEO: "video",
}


@dataclass(frozen=True)
class CheckInWindow:
    """When a check-in is welcome: from the start of first_day to the end of last_day, local time."""

    first_day: date
    last_day: date
    due_from: datetime
    due_by: datetime
    basis_reason: str


def status_at(
    due_from: datetime, due_by: datetime, done_at: datetime | None, as_of: datetime
) -> FollowUpStatus:
    """The status of an item at as_of: done, upcoming, due or overdue."""
    # In UTC: Python compares two datetimes of one zone by their wall clocks,
    # which is wrong in the hour repeated when the clocks go back.
    as_of = _utc(as_of, "as_of")
    if done_at is not None and _utc(done_at, "done_at") <= as_of:
        return FollowUpStatus.DONE
    if as_of < _utc(due_from, "due_from"):
        return FollowUpStatus.UPCOMING
    if as_of <= _utc(due_by, "due_by"):
        return FollowUpStatus.DUE
    return FollowUpStatus.OVERDUE


def check_in_window(
    interview_held_at: datetime,
    decide_by: date | None,
    *,
    timezone: str = "UTC",
    country: str = "US",
    subdivision: str | None = None,
    policy: FollowUpPolicy = DEFAULT_POLICY,
) -> CheckInWindow:
    """The check-in window after an interview, given the decision date stated (if any)."""
    interview_day = local_date(interview_held_at, timezone)
    return _check_in_window_after(interview_day, decide_by, timezone, country, subdivision, policy)


# A pure function of a few dates and names that recur across candidacies: replays and
# projection catch-ups evaluate it for every candidacy, so its answers are kept.
@lru_cache(maxsize=65536)
def _check_in_window_after(
    interview_day: date,
    decide_by: date | None,
    timezone: str,
    country: str,
    subdivision: str | None,
    policy: FollowUpPolicy,
) -> CheckInWindow:
    if decide_by is not None and decide_by >= interview_day:
        base_day = decide_by
        first_n = policy.deadline_buffer_first_business_day
        last_n = policy.deadline_buffer_last_business_day
        basis = (
            f"Decision expected by {_format_day(decide_by)}: "
            f"check in {_business_day_span(first_n, last_n)} after it"
        )
    else:
        base_day = interview_day
        first_n = policy.no_deadline_first_business_day
        last_n = policy.no_deadline_last_business_day
        span = _business_day_span(first_n, last_n)
        if decide_by is None:
            basis = f"No decision date given: {span} after the interview on {_format_day(interview_day)}"
        else:
            basis = (
                f"Decision date {_format_day(decide_by)} is before the interview on "
                f"{_format_day(interview_day)}: {span} after the interview"
            )
    first_day, last_day, skipped = _business_days_after(base_day, first_n, last_n, country, subdivision)
    if skipped:
        basis += f" ({_join_words(skipped)} skipped)"
    return CheckInWindow(
        first_day=first_day,
        last_day=last_day,
        due_from=start_of_day(first_day, timezone),
        due_by=end_of_day(last_day, timezone),
        basis_reason=basis,
    )


# The window's days depend on fewer values than the whole window: one base day recurs across
# candidacies where a pair of interview day and decision date rarely does, so kept apart they
# are found again far more often.
@lru_cache(maxsize=65536)
def _business_days_after(
    base_day: date, first_n: int, last_n: int, country: str, subdivision: str | None
) -> tuple[date, date, tuple[str, ...]]:
    """The first_n-th and last_n-th business days after base_day, and the holidays skipped up to the last."""
    calendar = calendar_for(country, subdivision)
    first_day = calendar.business_days_after(base_day, first_n)
    last_day = calendar.business_days_after(base_day, last_n)
    return first_day, last_day, tuple(name for _, name in calendar.holidays_between(base_day, last_day))


def follow_up_items(
    facts: CandidacyFacts,
    as_of: datetime,
    *,
    contacts: Mapping[UUID, ContactFacts] | None = None,
    policy: FollowUpPolicy = DEFAULT_POLICY,
) -> list[FollowUpItem]:
    """Every follow-up item of a candidacy (done ones included) as it stands at as_of."""
    # A UTC as_of compares with the facts by instant, whatever zone they were stored in.
    as_of = _utc(as_of, "as_of")
    known = facts_occurred_by(facts, as_of)
    contacts = contacts or {}
    items = [
        *_thank_you_items(known, as_of, policy),
        *_check_in_items(known, as_of, policy),
        *_connect_linkedin_items(known, as_of, contacts, policy),
        *_stay_in_touch_items(known, as_of, contacts, policy),
    ]
    items.sort(key=_item_order)
    return items


def interview_items(
    facts: CandidacyFacts, as_of: datetime, *, policy: FollowUpPolicy = DEFAULT_POLICY
) -> list[FollowUpItem]:
    """The candidacy's thank-you and check-in items as follow_up_items gives them, without the
    relationship items: what the analytics of the interviews and check-ins read."""
    as_of = _utc(as_of, "as_of")
    known = facts_occurred_by(facts, as_of)
    items = [*_thank_you_items(known, as_of, policy), *_check_in_items(known, as_of, policy)]
    items.sort(key=_item_order)
    return items


def relationship_items(
    facts: CandidacyFacts,
    as_of: datetime,
    *,
    contacts: Mapping[UUID, ContactFacts] | None = None,
    policy: FollowUpPolicy = DEFAULT_POLICY,
) -> list[FollowUpItem]:
    """Only the connect_linkedin and stay_in_touch items of follow_up_items: the ones a
    touch with a contact elsewhere (another candidacy, the contact's own stream) can move."""
    as_of = _utc(as_of, "as_of")
    known = facts_occurred_by(facts, as_of)
    contacts = contacts or {}
    items = [
        *_connect_linkedin_items(known, as_of, contacts, policy),
        *_stay_in_touch_items(known, as_of, contacts, policy),
    ]
    items.sort(key=_item_order)
    return items


def stay_in_touch_item(
    facts: CandidacyFacts,
    contact_id: UUID,
    as_of: datetime,
    *,
    contact: ContactFacts | None,
    policy: FollowUpPolicy = DEFAULT_POLICY,
) -> FollowUpItem | None:
    """The stay_in_touch item of one interviewer of the candidacy, as relationship_items gives
    it (None before the outcome).

    The candidacy's own touches with the contact count, and so do the contact's: when the
    contact's touches already include the candidacy's, facts without interviews, notes and
    check-ins give the same item (the last touch is the latest of them all)."""
    as_of = _utc(as_of, "as_of")
    known = facts_occurred_by(facts, as_of)
    if known.outcome is None or _erased_by(contact, as_of):
        return None
    own_touches = _own_touches(known).get(contact_id, [])
    return _stay_in_touch_item(known, contact_id, own_touches, contact, as_of, policy)


class StayInTouchSchedule(NamedTuple):
    """When the next stay-in-touch message to a contact is owed, and why: every field of an
    interviewer's stay_in_touch item but the candidacy's own ids."""

    last_touch: datetime  # the item's opened_at
    due_from: datetime
    due_by: datetime
    reason: str


def stay_in_touch_schedule(
    last_touch: datetime, time_zone: str, *, policy: FollowUpPolicy = DEFAULT_POLICY
) -> StayInTouchSchedule:
    """The stay-in-touch schedule after a last touch with a contact, worded in a candidacy's time zone.

    An interviewer's stay_in_touch item in a closed candidacy is this schedule, from the latest
    touch with the contact (any candidacy's, or on the contact's own stream): it is the same in
    every closed candidacy of one time zone the contact interviewed for."""
    return StayInTouchSchedule(last_touch, *_stay_in_touch_terms(last_touch, time_zone, policy))


# A contact's last touch recurs in every closed candidacy it interviewed for: a projection's batch and
# a replay meet it again and again. Keyed by the instant (equal instants in two zones hash alike): the
# terms are in UTC and worded in time_zone, so they are the same for both.
@lru_cache(maxsize=16384)
def _stay_in_touch_terms(last_touch: datetime, time_zone: str, policy: FollowUpPolicy) -> tuple[datetime, datetime, str]:
    due_from = _elapsed_after(last_touch, timedelta(days=policy.stay_in_touch_days))
    due_by = _elapsed_after(due_from, timedelta(days=policy.stay_in_touch_grace_days))
    reason = (
        f"Stay in touch: last touch on {_format_day(local_date(last_touch, time_zone))}; "
        f"a helpful note or congratulations every {policy.stay_in_touch_days} days"
    )
    return due_from, due_by, reason


def connect_linkedin_item(
    facts: CandidacyFacts,
    contact_id: UUID,
    as_of: datetime,
    *,
    contact: ContactFacts | None,
    policy: FollowUpPolicy = DEFAULT_POLICY,
) -> FollowUpItem | None:
    """The connect_linkedin item of one interviewer of the candidacy, as relationship_items gives
    it (None before the outcome); of the candidacy it reads only the outcome and the time zone."""
    as_of = _utc(as_of, "as_of")
    known = facts_occurred_by(facts, as_of)
    if known.outcome is None or _erased_by(contact, as_of):
        return None
    return _connect_linkedin_item(known, known.outcome, contact_id, contact, as_of, policy)


def _item_order(item: FollowUpItem) -> tuple[datetime, str, int]:
    # A uuid's number sorts as its text does (fixed-width lowercase hex); no contact sorts first.
    return (_utc(item.due_by, "due_by"), item.kind.value,
            item.contact_id.int if item.contact_id is not None else -1)


def _format_day(d: date) -> str:
    """A date as a recruiter reads it: 'Wed 25 Nov 2026'."""
    return f"{_WEEKDAYS[d.weekday()]} {d.day} {_MONTHS[d.month - 1]} {d.year}"


def _format_moment(instant: datetime, tz: str) -> str:
    local = local_datetime(instant, tz)
    return f"{_format_day(local.date())} {local.hour:02d}:{local.minute:02d} {local.tzname()}"


def _business_day_span(first_n: int, last_n: int) -> str:
    if first_n == last_n:
        return f"{first_n} business day" + ("" if first_n == 1 else "s")
    return f"{first_n}-{last_n} business days"


def _join_words(words: Sequence[str]) -> str:
    if len(words) == 1:
        return words[0]
    return f"{', '.join(words[:-1])} and {words[-1]}"


def _utc(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is timezone.utc:
        return moment  # facts read back from the log are in UTC: nothing to convert
    if moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(timezone.utc)


def _elapsed_after(instant: datetime, elapsed: timedelta) -> datetime:
    """The instant that much real time later, in UTC."""
    # Adding to a zoned datetime would count wall-clock time (an hour off across a
    # DST change) and make the answer depend on which zone the fact was stored in.
    return instant.astimezone(timezone.utc) + elapsed


def facts_occurred_by(facts: CandidacyFacts, as_of: datetime) -> CandidacyFacts:
    """The same candidacy with only what had happened by as_of, each kind of fact in time order."""
    outcome = facts.outcome
    known_outcome = outcome if outcome is not None and outcome.occurred_at <= as_of else None
    interviews = _occurred_by(facts.interviews, _HELD_AT, as_of)
    deadlines = _occurred_by(facts.deadlines, _STATED_AT, as_of)
    notes = _occurred_by(facts.notes, _SENT_AT, as_of)
    check_ins = _occurred_by(facts.check_ins, _SENT_AT, as_of)
    if (
        interviews is facts.interviews and deadlines is facts.deadlines and notes is facts.notes
        and check_ins is facts.check_ins and known_outcome is outcome
    ):
        return facts  # all of it had happened, already in time order: the common case, kept cheap
    return replace(
        facts, interviews=interviews, deadlines=deadlines, notes=notes, check_ins=check_ins, outcome=known_outcome
    )


_Fact = TypeVar("_Fact")
_HELD_AT = attrgetter("held_at")
_STATED_AT = attrgetter("stated_at")
_SENT_AT = attrgetter("sent_at")


def _occurred_by(
    values: tuple[_Fact, ...], moment_of: Callable[[_Fact], datetime], as_of: datetime
) -> tuple[_Fact, ...]:
    """The values that occurred by as_of, in time order (values itself when that is all of them, in order)."""
    if not values:
        return values
    # A stable sort keeps recording order between facts with the same timestamp.
    ordered = sorted((value for value in values if moment_of(value) <= as_of), key=moment_of)
    if len(ordered) == len(values) and all(map(is_, ordered, values)):
        return values
    return tuple(ordered)


def _item(
    facts: CandidacyFacts,
    kind: FollowUpKind,
    contact_id: UUID | None,
    opened_at: datetime,
    due_from: datetime,
    due_by: datetime,
    done_at: datetime | None,
    as_of: datetime,
    reason: str,
    flags: Iterable[str] = (),
) -> FollowUpItem:
    return FollowUpItem(
        kind=kind,
        candidacy_id=facts.candidacy_id,
        candidate_id=facts.candidate_id,
        contact_id=contact_id,
        opened_at=opened_at,
        due_from=due_from,
        due_by=due_by,
        status=status_at(due_from, due_by, done_at, as_of),
        reason=reason,
        flags=tuple(flags),
        done_at=done_at,
    )


def _thank_you_items(facts: CandidacyFacts, as_of: datetime, policy: FollowUpPolicy) -> list[FollowUpItem]:
    # Each contact's thank-you notes, in the facts' order: looked up per interviewer of each round.
    thank_yous: dict[UUID, list[SentNote]] = {}
    for note in facts.notes:
        if note.kind is NoteKind.THANK_YOU:
            thank_yous.setdefault(note.contact_id, []).append(note)
    items = []
    for round_ in facts.interviews:
        due_by = _elapsed_after(round_.held_at, timedelta(hours=policy.thank_you_hours))
        reason = (
            f"Thank-you note within {policy.thank_you_hours} hours of the "
            f"{_FORMAT_WORDS[round_.format]} interview on {_format_moment(round_.held_at, facts.timezone)}"
        )
        for contact_id in dict.fromkeys(round_.interviewer_ids):
            # A note after a later round also answers this round: the contract's literal reading.
            notes = [note for note in thank_yous.get(contact_id, ()) if note.sent_at >= round_.held_at]
            done_at = notes[0].sent_at if notes else None
            flags = []
            if done_at is not None and done_at > due_by:
                flags.append(FLAG_LATE)
            if notes and all(note.channel is Channel.HANDWRITTEN for note in notes):
                flags.append(FLAG_HANDWRITTEN_ONLY)
            items.append(
                _item(
                    facts, FollowUpKind.THANK_YOU, contact_id, round_.held_at,
                    round_.held_at, due_by, done_at, as_of, reason, flags,
                )
            )
    return items


def _latest_deadline_by(deadlines: tuple[StatedDeadline, ...], moment: datetime) -> StatedDeadline | None:
    stated = [deadline for deadline in deadlines if deadline.stated_at <= moment]
    return stated[-1] if stated else None


def _first_check_in_from(check_ins: tuple[SentCheckIn, ...], start: datetime) -> SentCheckIn | None:
    return next((check_in for check_in in check_ins if check_in.sent_at >= start), None)


def _check_in_items(facts: CandidacyFacts, as_of: datetime, policy: FollowUpPolicy) -> list[FollowUpItem]:
    if not facts.interviews:
        return []
    latest_round = facts.interviews[-1]

    def check_in_item(opened_at: datetime, decision_point: datetime, sent: SentCheckIn | None) -> FollowUpItem:
        deadline = _latest_deadline_by(facts.deadlines, decision_point)
        window = check_in_window(
            latest_round.held_at,
            deadline.decide_by if deadline is not None else None,
            timezone=facts.timezone,
            country=facts.country,
            subdivision=facts.subdivision,
            policy=policy,
        )
        flags = []
        if sent is not None and sent.sent_at < window.due_from:
            flags.append(FLAG_EARLY)
        if sent is not None and sent.sent_at > window.due_by:
            flags.append(FLAG_LATE)
        return _item(
            facts, FollowUpKind.CHECK_IN, None, opened_at, window.due_from, window.due_by,
            sent.sent_at if sent is not None else None, as_of, window.basis_reason, flags,
        )

    items = []
    start = latest_round.held_at
    while True:
        sent = _first_check_in_from(facts.check_ins, start)
        if sent is None:
            # "No check-in is owed once an outcome is recorded."
            if facts.outcome is None:
                items.append(check_in_item(start, as_of, None))
            return items
        items.append(check_in_item(start, sent.sent_at, sent))
        # "A new DeadlineStated after a check-in opens a new check-in item."
        newer = next((d for d in facts.deadlines if d.stated_at > sent.sent_at), None)
        if newer is None:
            return items
        start = newer.stated_at


def _connect_linkedin_items(
    facts: CandidacyFacts, as_of: datetime, contacts: Mapping[UUID, ContactFacts], policy: FollowUpPolicy
) -> list[FollowUpItem]:
    outcome = facts.outcome
    if outcome is None:
        return []
    return [
        _connect_linkedin_item(facts, outcome, contact_id, contact, as_of, policy)
        for contact_id in facts.interviewer_ids
        if not _erased_by(contact := contacts.get(contact_id), as_of)
    ]


def _connect_linkedin_item(
    facts: CandidacyFacts,
    outcome: RecordedOutcome,
    contact_id: UUID,
    contact: ContactFacts | None,
    as_of: datetime,
    policy: FollowUpPolicy,
) -> FollowUpItem:
    due_by, reason = _connect_linkedin_terms(outcome, facts.timezone, policy)
    connected_at = contact.linkedin_connected_at if contact is not None else None
    done_at = connected_at if connected_at is not None and connected_at <= as_of else None
    flags = [FLAG_LATE] if done_at is not None and done_at > due_by else []
    return _item(
        facts, FollowUpKind.CONNECT_LINKEDIN, contact_id, outcome.occurred_at,
        outcome.occurred_at, due_by, done_at, as_of, reason, flags,
    )


# The same for every interviewer of the candidacy.
@lru_cache(maxsize=4096)
def _connect_linkedin_terms(outcome: RecordedOutcome, time_zone: str, policy: FollowUpPolicy) -> tuple[datetime, str]:
    due_by = _elapsed_after(outcome.occurred_at, timedelta(days=policy.connect_linkedin_days))
    reason = (
        f"Outcome ({outcome.outcome.value}) recorded on "
        f"{_format_day(local_date(outcome.occurred_at, time_zone))}: "
        f"connect on LinkedIn within {policy.connect_linkedin_days} days"
    )
    return due_by, reason


def _own_touches(facts: CandidacyFacts) -> dict[UUID, list[datetime]]:
    """Each contact's touches within the candidacy: its interviews, then notes, then check-ins."""
    touches: dict[UUID, list[datetime]] = {}
    for round_ in facts.interviews:
        for contact_id in dict.fromkeys(round_.interviewer_ids):
            touches.setdefault(contact_id, []).append(round_.held_at)
    for note in facts.notes:
        touches.setdefault(note.contact_id, []).append(note.sent_at)
    for check_in in facts.check_ins:
        if check_in.contact_id is not None:
            touches.setdefault(check_in.contact_id, []).append(check_in.sent_at)
    return touches


def _last_touch(own_touches: list[datetime], contact: ContactFacts | None, as_of: datetime) -> datetime:
    touches = list(own_touches)
    if contact is not None:
        touches += [touch for touch in contact.touches if touch <= as_of]
    # Never empty: the contact is one of this candidacy's interviewers.
    return max(touches)


def _stay_in_touch_items(
    facts: CandidacyFacts, as_of: datetime, contacts: Mapping[UUID, ContactFacts], policy: FollowUpPolicy
) -> list[FollowUpItem]:
    if facts.outcome is None:
        return []
    own_touches = _own_touches(facts)
    return [
        _stay_in_touch_item(facts, contact_id, own_touches.get(contact_id, []), contact, as_of, policy)
        for contact_id in facts.interviewer_ids
        if not _erased_by(contact := contacts.get(contact_id), as_of)
    ]


def _erased_by(contact: ContactFacts | None, as_of: datetime) -> bool:
    """Whether the contact had been erased by as_of: a person who asked to be forgotten is owed
    no more outreach (no LinkedIn invitation, no stay-in-touch note)."""
    return contact is not None and contact.erased_at is not None and contact.erased_at <= as_of


def _stay_in_touch_item(
    facts: CandidacyFacts,
    contact_id: UUID,
    own_touches: list[datetime],
    contact: ContactFacts | None,
    as_of: datetime,
    policy: FollowUpPolicy,
) -> FollowUpItem:
    schedule = stay_in_touch_schedule(_last_touch(own_touches, contact, as_of), facts.timezone, policy=policy)
    # Recurring, so never done: this is always the next one owed.
    return _item(
        facts, FollowUpKind.STAY_IN_TOUCH, contact_id, schedule.last_touch,
        schedule.due_from, schedule.due_by, None, as_of, schedule.reason,
    )
