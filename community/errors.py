"""Domain errors raised by services; one place (community.responses) maps them to HTTP."""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Invalid(DomainError):
    status = 422
    code = "invalid"

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message, field)


class BadRequest(DomainError):
    status = 400
    code = "bad_request"


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"

    def __init__(self, message: str = "Please log in first.") -> None:
        super().__init__(message)


class NotAllowed(DomainError):
    status = 403
    code = "not_allowed"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class TooLarge(DomainError):
    status = 413
    code = "too_large"


class TooMany(DomainError):
    """A rate limit: `retry_after` is the seconds until the next try can go through (Retry-After)."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, field: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message, field)
        self.retry_after = retry_after


class Busy(DomainError):
    """A write that kept clashing with others (deadlocks) even when run again: try again shortly."""

    status = 503
    code = "busy"

    def __init__(self, message: str = "The forum is very busy and this could not be saved. Please try again.",
                 field: str | None = None, retry_after: int | None = 1) -> None:
        super().__init__(message, field)
        self.retry_after = retry_after
