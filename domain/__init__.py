"""The Followup domain: aggregates, events, the follow-up rules and the application."""
