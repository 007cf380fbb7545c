"""Verifying the webhooks PayIn sends, with the gateway's own signature code (in Rust).

``Webhook(secret).verify(body, headers)`` checks the Standard Webhooks headers
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature``) and returns the ``Event``.
``verify_signature(body, signature, secret)`` checks the seed scheme's ``X-PayIn-Signature``.
Both need the raw request body exactly as received. Types are in ``_webhooks.pyi``.
"""

import json
import os
import time
from datetime import timedelta
from typing import Iterable, Protocol, Tuple, Union

from . import _native
from ._models import Event

__all__ = ["Webhook", "verify_signature", "DEFAULT_TOLERANCE"]

DEFAULT_TOLERANCE = 300


class HeaderItems(Protocol):
    """Any headers object with ``items()``: a dict, Flask/Werkzeug, Django or Starlette headers."""

    def items(self) -> Iterable[Tuple[str, str]]: ...


Body = Union[bytes, bytearray, memoryview, str]
Headers = Union[HeaderItems, Iterable[Tuple[str, str]]]

_RAW_BODY_HINT = (
    "pass the raw request body exactly as received (bytes or str), not parsed JSON: "
    "JSON that was parsed and serialized again no longer matches its signature"
)


def _raw_body(body):
    if isinstance(body, bytes):
        return body
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    raise TypeError("the webhook body must be bytes or str, got {}: {}".format(type(body).__name__, _RAW_BODY_HINT))


def _header_value(value):
    # ASGI servers hand headers over as bytes; HTTP header bytes are Latin-1.
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    return str(value)


def _header_pairs(headers):
    """(name, value) pairs from a mapping (dict, Flask/Django/Starlette headers) or pairs."""
    items = headers.items() if hasattr(headers, "items") else headers
    return [(_header_value(name), _header_value(value)) for name, value in items]


def _seconds(value, field):
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError("{} must be a number of seconds >= 0, got {!r}".format(field, value))
    return int(value)


class Webhook:
    """An endpoint's signing secret (``whsec_…``) and how far, in seconds, a delivery's
    timestamp may be from this machine's clock in either direction (default 300)."""

    __slots__ = ("_native", "tolerance")

    def __init__(self, secret, tolerance=DEFAULT_TOLERANCE):
        self.tolerance = _seconds(tolerance, "tolerance")
        self._native = _native.Webhook(secret, self.tolerance)

    def verify(self, body, headers, *, now=None):
        """The event of a delivery whose headers verify against ``body``, the raw request body.

        ``headers`` is any mapping of the request's headers (names in any case) or a list of
        (name, value) pairs. Raises ``WebhookVerificationError`` when a header is missing, the
        timestamp is too old or too far ahead, or no ``v1,`` signature matches (any one of
        several may, as during a secret rotation). ``now`` (Unix seconds) replaces the clock.
        """
        raw = _raw_body(body)
        self._native.verify(raw, _header_pairs(headers), None if now is None else int(now))
        return Event(json.loads(raw))

    def sign(self, body, *, msg_id=None, timestamp=None):
        """The headers PayIn would send with ``body``: for testing your receiver.

        ``msg_id`` defaults to the event's ``id`` in the body (else a random ``msg_…``),
        ``timestamp`` (Unix seconds) to now. Includes ``X-PayIn-Signature``.
        """
        raw = _raw_body(body)
        if msg_id is None:
            msg_id = _event_id(raw) or "msg_" + os.urandom(12).hex()
        if timestamp is None:
            timestamp = int(time.time())
        return dict(self._native.sign(msg_id, int(timestamp), raw))

    def __repr__(self):
        return "Webhook(secret='whsec_…', tolerance={})".format(self.tolerance)


def _event_id(raw):
    try:
        event = json.loads(raw)
    except ValueError:
        return None
    if isinstance(event, dict) and isinstance(event.get("id"), str) and event["id"]:
        return event["id"]
    return None


def verify_signature(body, signature, secret):
    """True when ``signature`` is the ``X-PayIn-Signature`` of ``body`` (the raw request body)
    under the endpoint's ``secret``: hex HMAC-SHA256, compared in constant time."""
    if not isinstance(signature, str) or not isinstance(secret, str):
        raise TypeError("signature and secret must be str")
    return _native.verify_signature(_raw_body(body), signature, secret)
