"""Domain errors. The hierarchy mirrors Frappe's exception classes so the web layer can render each one in
Frappe's wire shape (status code and ``exc_type``) without guessing. Frappe's ValidationError and
PermissionError are called ValidationFailedError and NotPermittedError here, so that they shadow neither
pydantic's ValidationError nor Python's built-in PermissionError; on the wire they keep Frappe's names."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: ``message`` is plain text safe to show to the caller; it never carries internal details.
    (The web layer escapes it, since Frappe clients render messages as HTML, unless ``message_is_html``.)"""

    http_status = 500
    exc_type = "Exception"
    #: The module Frappe's class lives in, for the ``exception`` line (``frappe.exceptions.ValidationError: ...``).
    exc_module = "frappe.exceptions"
    title = "Message"
    message_is_html = False
    #: Why a request was refused before its method ran (for the metrics), when that is what happened.
    reason: str | None = None

    def __init__(self, message: str = "", *, reason: str | None = None, exc_type: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        if exc_type is not None:
            # An error another Frappe site raised keeps that site's class name (e.g. ``MandatoryError``), so
            # the web layer echoes it; the status still comes from this class.
            self.exc_type = exc_type


class ValidationFailedError(ServiceError):
    http_status = 417
    exc_type = "ValidationError"


class DoesNotExistError(ValidationFailedError):
    http_status = 404
    exc_type = "DoesNotExistError"


class SiteRefusedError(ValidationFailedError):
    """A live ERPNext site refused a document by its own rules (mandatory fields, links, unique values): the
    message and ``exc_type`` are the site's."""


class StaleDocumentError(ValidationFailedError):
    """A document changed on the ERPNext site since it was read: the site refused a write that carried the
    ``modified`` of that read (Frappe's TimestampMismatchError). Read it again and decide anew."""

    exc_type = "TimestampMismatchError"


class QueryTimeoutError(ValidationFailedError):
    """A search ran past its time limit and was stopped."""

    exc_type = "QueryTimeoutError"

    def __init__(self) -> None:
        super().__init__("The search took too long and was stopped; type more of the name to narrow it.")


class MedusaIdLinkedElsewhereError(ValidationFailedError):
    """A medusa_id is already on another Customer (the database's unique index has the last word)."""

    def __init__(self, holder: str) -> None:
        super().__init__(f"This Medusa Lead is already linked to another Customer: {holder}")
        self.holder = holder


class NotPermittedError(ServiceError):
    http_status = 403
    exc_type = "PermissionError"


class AuthenticationError(ServiceError):
    http_status = 401
    exc_type = "AuthenticationError"


class InvalidAuthorizationToken(ServiceError):
    http_status = 400
    exc_type = "InvalidAuthorizationToken"


class CSRFTokenError(ServiceError):
    """An unsafe request of a session that holds a CSRF token did not send it."""

    http_status = 400
    exc_type = "CSRFTokenError"

    def __init__(self) -> None:
        super().__init__("Invalid Request", reason="csrf")


class LoginFailedError(AuthenticationError):
    """A refused login: Frappe also puts the text in the body's ``message`` and sends no ``_server_messages``."""

    def __init__(self, message: str) -> None:
        super().__init__(message, reason="login_failed")


class AccountLockedError(ServiceError):
    """Too many failed logins: the account is locked for a while (Frappe's SecurityException text). Frappe
    answers it with 500; here it is 429 with Retry-After, since nothing failed on the server."""

    http_status = 429
    exc_type = "SecurityException"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Your account has been locked and will resume after {retry_after} seconds", reason="account_locked"
        )
        self.retry_after = retry_after


class DuplicateEntryError(ServiceError):
    http_status = 409
    exc_type = "DuplicateEntryError"


class TooManyRequestsError(ServiceError):
    http_status = 429
    exc_type = "TooManyRequestsError"

    def __init__(self, retry_after: int, *, reason: str = "rate_limit") -> None:
        super().__init__(
            "You hit the rate limit because of too many requests. Please try after sometime.", reason=reason
        )
        #: Seconds until the client may try again (the Retry-After header).
        self.retry_after = retry_after


class ServiceUnavailableError(ServiceError):
    """The database cannot serve now (unreachable, read-only, every connection busy); the caller may retry."""

    http_status = 503
    exc_type = "ServiceUnavailable"
    exc_module = "werkzeug.exceptions"

    def __init__(self, message: str, retry_after: int = 1, *, reason: str = "unavailable") -> None:
        super().__init__(message, reason=reason)
        #: Seconds after which a retry may succeed (the Retry-After header).
        self.retry_after = retry_after


class UncertainWriteError(ServiceUnavailableError):
    """A write was sent to the ERPNext site but no answer came back (a timeout, a dropped connection, a
    gateway error): it may or may not have been applied. It is never sent again blindly; the caller looks
    the document up to learn which."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message, retry_after, reason="erpnext_unavailable")


class RequestTooLargeError(ServiceError):
    """The request body (or query string) is larger than the service accepts (werkzeug's name for it)."""

    http_status = 413
    exc_type = "RequestEntityTooLarge"
    exc_module = "werkzeug.exceptions"


class MisdirectedRequestError(ServiceError):
    """The request names a host the service does not answer for (werkzeug's name for 421)."""

    http_status = 421
    exc_type = "MisdirectedRequest"
    exc_module = "werkzeug.exceptions"


class RequestTimeoutError(ServiceError):
    """The request did not arrive in time (werkzeug's name for 408)."""

    http_status = 408
    exc_type = "RequestTimeout"
    exc_module = "werkzeug.exceptions"


class InvalidDocumentError(ValidationFailedError):
    """A document in an import file is invalid; ``position`` is 1-based within the file."""

    def __init__(self, position: int, name: str | None, field: str | None, problem: str) -> None:
        where = f"document {position}"
        if name:
            where += f" ({name})"
        if field:
            where += f", field {field}"
        super().__init__(f"{where}: {problem}")
        self.position = position
        self.name = name
        self.field = field
        self.problem = problem
