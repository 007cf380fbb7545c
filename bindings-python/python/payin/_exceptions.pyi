"""Types of ``payin._exceptions``."""

from typing import Any

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
    message: str
    code: str
    """The API's stable code, e.g. ``ORDER_NOT_FOUND``; ``CONNECTION_ERROR`` / ``TIMEOUT`` when no answer came."""
    status_code: int | None
    """The HTTP status the error came with; None when no answer came back."""
    field: str | None
    """The invalid field (``chainId``, ``amount``…) of a ``ValidationError``."""
    details: dict[str, Any]
    """Members naming the error's subject (``existingOrderId``, ``protocol``…)."""
    def __init__(
        self,
        message: str,
        *,
        code: str = "PAYIN_ERROR",
        status_code: int | None = None,
        field: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None: ...

class ValidationError(PayInError): ...
class AuthenticationError(PayInError): ...
class PermissionDeniedError(PayInError): ...
class NotFoundError(PayInError): ...

class ConflictError(PayInError):
    @property
    def existing_order_id(self) -> str | None: ...
    @property
    def idempotency_key(self) -> str | None: ...

class RateLimitError(PayInError): ...
class InternalServerError(PayInError): ...
class ServiceUnavailableError(PayInError): ...
class APIConnectionError(PayInError): ...
class APITimeoutError(APIConnectionError): ...

class WebhookVerificationError(PayInError):
    reason: str
    """``missing_header``, ``invalid_timestamp``, ``too_old``, ``too_new``, ``mismatch``, ``payload`` or ``invalid_secret``."""
    def __init__(self, message: str, *, reason: str = "mismatch") -> None: ...

def _from_native(
    code: str, status_code: int | None, message: str, field: str | None, details: dict[str, Any]
) -> PayInError: ...
def _webhook_from_native(reason: str, message: str) -> WebhookVerificationError: ...
