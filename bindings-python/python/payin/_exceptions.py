"""The exceptions the package raises; types are in ``_exceptions.pyi``.

Every error of a call is a ``PayInError`` carrying the API's stable ``code``
(``ORDER_NOT_FOUND``, ``NO_AVAILABLE_ADDRESSES`` …), the HTTP ``status_code`` it came with
(None when no answer came back), the ``message`` and, for invalid input, the ``field``.
The subclass says what kind of failure it is, so callers catch what they can handle.
"""

__all__ = [
    "PayInError",
    "ValidationError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "RateLimitError",
    "InternalServerError",
    "ServiceUnavailableError",
    "APIConnectionError",
    "APITimeoutError",
    "WebhookVerificationError",
]


class PayInError(Exception):
    """An error of the PayIn API or of reaching it."""

    def __init__(self, message, *, code="PAYIN_ERROR", status_code=None, field=None, details=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status_code = status_code
        self.field = field
        self.details = dict(details or {})

    def __str__(self):
        return self.message

    def __repr__(self):
        return "{}(code={!r}, status_code={!r}, message={!r}{})".format(
            type(self).__name__,
            self.code,
            self.status_code,
            self.message,
            "" if self.field is None else ", field={!r}".format(self.field),
        )

    def __reduce__(self):
        return (
            _rebuild,
            (type(self), self.message, self.code, self.status_code, self.field, self.details),
        )


def _rebuild(cls, message, code, status_code, field, details):
    return cls(message, code=code, status_code=status_code, field=field, details=details)


class ValidationError(PayInError):
    """400: input that can never succeed as sent; ``field`` names the offending field."""


class AuthenticationError(PayInError):
    """401: the API key is missing, wrong or revoked."""


class PermissionDeniedError(PayInError):
    """403: the key may not do this."""


class NotFoundError(PayInError):
    """404: no such order, deposit reference, event or endpoint."""


class ConflictError(PayInError):
    """409: a duplicate reference, or an ``Idempotency-Key`` reused for another request."""

    @property
    def existing_order_id(self):
        """The order that already has this reference (``DUPLICATE_ORDER_REFERENCE``)."""
        return self.details.get("existingOrderId")

    @property
    def idempotency_key(self):
        """The key of ``IDEMPOTENCY_KEY_REUSED`` / ``IDEMPOTENCY_KEY_IN_PROGRESS``."""
        return self.details.get("idempotencyKey")


class RateLimitError(PayInError):
    """429: too many requests, still after the retries (which wait as ``Retry-After`` asks)."""


class InternalServerError(PayInError):
    """500 and other 5xx answers: a failure of the gateway, not of the request."""


class ServiceUnavailableError(PayInError):
    """503: e.g. ``NO_AVAILABLE_ADDRESSES`` (import addresses into the pool) or the dev chain down."""


class APIConnectionError(PayInError):
    """No answer: the connection was refused, reset or closed. The request may have run."""


class APITimeoutError(APIConnectionError):
    """No answer within the timeout. The request may have run."""


class WebhookVerificationError(PayInError):
    """A webhook that does not verify; ``reason`` says why in one word."""

    def __init__(self, message, *, reason="mismatch"):
        super().__init__(message, code="WEBHOOK_VERIFICATION_FAILED")
        self.reason = reason

    def __reduce__(self):
        return (_rebuild_webhook, (self.message, self.reason))


def _rebuild_webhook(message, reason):
    return WebhookVerificationError(message, reason=reason)


_BY_STATUS = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}

_BY_CODE = {
    "CONNECTION_ERROR": APIConnectionError,
    "TIMEOUT": APITimeoutError,
}


def _from_native(code, status_code, message, field, details):
    """The exception for an error of the Rust client (called by ``payin._native``)."""
    cls = _BY_CODE.get(code) or _BY_STATUS.get(status_code)
    if cls is None:
        cls = InternalServerError if status_code is not None and status_code >= 500 else PayInError
    return cls(message, code=code, status_code=status_code, field=field, details=details)


def _webhook_from_native(reason, message):
    """The exception for a webhook that did not verify (called by ``payin._native``)."""
    return WebhookVerificationError(message, reason=reason)
