"""Domain errors: every rejected command says what is wrong and, where it can, which field."""

from __future__ import annotations


class DomainError(Exception):
    """A command was refused. `field` names the input at fault, when there is one."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidCommand(DomainError):
    """The command's input breaks a rule of the domain (HTTP 422)."""


class UnknownReference(InvalidCommand):
    """The command names an id that does not exist (HTTP 422)."""


class NotFound(DomainError):
    """The addressed aggregate does not exist (HTTP 404)."""


class VersionConflict(DomainError):
    """The aggregate is not at the version the caller expected (HTTP 409)."""


class CandidacyClosed(DomainError):
    """The candidacy's outcome is recorded: no more interviews, deadlines or check-ins (HTTP 409)."""


class Erased(DomainError):
    """The person was erased: their data is gone and their stream takes no more commands (HTTP 410)."""
