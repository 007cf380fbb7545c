"""Types of ``payin._webhooks``."""

from datetime import timedelta
from typing import Iterable, Protocol, Union

from ._models import Event

__all__ = ["Webhook", "verify_signature", "DEFAULT_TOLERANCE"]

DEFAULT_TOLERANCE: int

class HeaderItems(Protocol):
    """Any headers object with ``items()``: a dict, Flask/Werkzeug, Django or Starlette headers."""

    def items(self) -> Iterable[tuple[str, str]]: ...

Body = Union[bytes, bytearray, memoryview, str]
"""The raw request body, exactly as received."""
Headers = Union[HeaderItems, Iterable[tuple[str, str]]]
"""The request's headers: a mapping-like object or (name, value) pairs; names in any case."""

class Webhook:
    """An endpoint's signing secret (``whsec_…``) and the tolerance, in seconds, between a
    delivery's timestamp and this machine's clock in either direction."""

    tolerance: int
    def __init__(self, secret: str, tolerance: int | float | timedelta = 300) -> None: ...
    def verify(self, body: Body, headers: Headers, *, now: int | None = None) -> Event:
        """The event of a delivery whose Standard Webhooks headers verify against ``body``;
        raises ``WebhookVerificationError`` otherwise."""
    def sign(self, body: Body, *, msg_id: str | None = None, timestamp: int | None = None) -> dict[str, str]:
        """The headers PayIn would send with ``body`` (for tests of a receiver)."""

def verify_signature(body: Body, signature: str, secret: str) -> bool:
    """True when ``signature`` is the ``X-PayIn-Signature`` of ``body`` under ``secret``."""
