"""PayIn for Python: a typed client of a PayIn gateway and webhook verification.

    import payin

    client = payin.Client()  # PAYIN_API_KEY, PAYIN_BASE_URL
    order = client.orders.create(order_reference="inv-1001", amount="25.00",
                                 currency="USDT", chain_id="ethereum")
    print(order.payment_url)

The HTTP calls, retries, idempotency keys and signature checks run in PayIn's Rust client
(``payin._native``), the same code as every other PayIn client.
"""

from . import _native
from ._client import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, AsyncClient, AsyncPage, Client, Page
from ._exceptions import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PayInError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    ValidationError,
    WebhookVerificationError,
)
from ._models import (
    BoundProtocol,
    BoundReference,
    Chain,
    CreatedWebhookEndpoint,
    Delivery,
    DeliveryAttempt,
    Deposit,
    DepositBinding,
    DepositReference,
    DepositReferenceSummary,
    Event,
    ImportResult,
    XpubKey,
    PaymentLink,
    LinkCurrency,
    DerivedAddress,
    MinedBlocks,
    Order,
    Pagination,
    PayInObject,
    PoolStatus,
    Resent,
    RotatedSecret,
    Settings,
    SimulatedPayment,
    Token,
    Unbound,
    WebhookEndpoint,
)
from ._webhooks import Webhook, verify_signature

__version__ = _native.__version__

__all__ = [
    "__version__",
    "Client",
    "AsyncClient",
    "Page",
    "AsyncPage",
    "DEFAULT_TIMEOUT",
    "DEFAULT_MAX_RETRIES",
    "Webhook",
    "verify_signature",
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
    "PayInObject",
    "Order",
    "Deposit",
    "DepositBinding",
    "BoundReference",
    "BoundProtocol",
    "DepositReference",
    "DepositReferenceSummary",
    "Unbound",
    "Token",
    "Chain",
    "PoolStatus",
    "ImportResult",
    "XpubKey",
    "PaymentLink",
    "LinkCurrency",
    "DerivedAddress",
    "Settings",
    "WebhookEndpoint",
    "CreatedWebhookEndpoint",
    "RotatedSecret",
    "DeliveryAttempt",
    "Delivery",
    "Resent",
    "Event",
    "SimulatedPayment",
    "MinedBlocks",
    "Pagination",
]
