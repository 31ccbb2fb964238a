"""The numbers of the follow-up rules, in one place, with the source text's defaults."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FollowUpPolicy:
    # "Send a note to each person who interviewed you within 24 hours."
    thank_you_hours: int = 24
    # "If the employer gives a timeline ... give them a 1-2-day buffer beyond the date."
    deadline_buffer_first_business_day: int = 1
    deadline_buffer_last_business_day: int = 2
    # "If no timetable exists, allow 4-5 business days before following up."
    no_deadline_first_business_day: int = 4
    no_deadline_last_business_day: int = 5
    # Staying in touch: a message every 90 days after the last touch, with a
    # grace period before the item counts as overdue.
    stay_in_touch_days: int = 90
    stay_in_touch_grace_days: int = 14
    # Connecting on LinkedIn once the candidacy has an outcome.
    connect_linkedin_days: int = 7
    # "Up to 80% of employers welcome a follow-up message within two weeks."
    follow_up_within_days: int = 14

    def __post_init__(self) -> None:
        if self.thank_you_hours <= 0:
            raise ValueError("thank_you_hours must be positive")
        for first, last, name in (
            (self.deadline_buffer_first_business_day, self.deadline_buffer_last_business_day, "deadline_buffer"),
            (self.no_deadline_first_business_day, self.no_deadline_last_business_day, "no_deadline"),
        ):
            if not 1 <= first <= last:
                raise ValueError(f"{name}: need 1 <= first business day <= last business day")
        for name in ("stay_in_touch_days", "connect_linkedin_days", "follow_up_within_days"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.stay_in_touch_grace_days < 0:
            raise ValueError("stay_in_touch_grace_days must not be negative")


DEFAULT_POLICY = FollowUpPolicy()
