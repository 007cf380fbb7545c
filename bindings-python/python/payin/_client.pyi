"""Types of ``payin._client``: ``Client``, ``AsyncClient``, their namespaces and pages."""

import builtins
from decimal import Decimal
from typing import Any, AsyncIterator, Coroutine, Generic, Iterable, Iterator, Mapping, TypeVar, overload

from ._models import (
    BoundProtocol,
    BoundReference,
    Chain,
    CreatedWebhookEndpoint,
    Delivery,
    Deposit,
    DepositReference,
    DepositReferenceSummary,
    Event,
    ImportResult,
    XpubKey,
    PaymentLink,
    MinedBlocks,
    Order,
    Pagination,
    PoolStatus,
    Resent,
    RotatedSecret,
    Settings,
    SimulatedPayment,
    Unbound,
    WebhookEndpoint,
)

__all__ = [
    "Client",
    "AsyncClient",
    "Page",
    "AsyncPage",
    "DEFAULT_TIMEOUT",
    "DEFAULT_MAX_RETRIES",
]

DEFAULT_TIMEOUT: float
DEFAULT_MAX_RETRIES: int
USER_AGENT: str

T = TypeVar("T")

class _PageBase(Generic[T]):
    def __init__(self, answer: dict[str, Any], walk: Any) -> None: ...
    data: list[T]
    """The items of this page."""
    pagination: Pagination
    next_page_number: int | None
    """The page to fetch next; None after the last page."""
    @property
    def has_more(self) -> bool: ...
    def to_dict(self) -> dict[str, Any]: ...

class Page(_PageBase[T]):
    """One page of a list. Iterating it yields every item from this page to the last page."""

    def next_page(self) -> Page[T] | None: ...
    def iter_pages(self) -> Iterator[Page[T]]: ...
    def __iter__(self) -> Iterator[T]: ...

class AsyncPage(_PageBase[T]):
    """One page of a list; ``async for`` over it yields every item from this page to the last."""

    async def next_page(self) -> AsyncPage[T] | None: ...
    def iter_pages(self) -> AsyncIterator[AsyncPage[T]]: ...
    def __aiter__(self) -> AsyncIterator[T]: ...

class Orders:
    """One-time payment orders (``/orders``)."""

    def create(
        self,
        *,
        order_reference: str,
        amount: Decimal | int | str,
        currency: str,
        chain_id: str,
        metadata: Mapping[str, Any] | None = None,
        success_url: str | None = None,
        cancel_url: str | None = None,
        payment_window_minutes: int | None = None,
        grace_minutes: int | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Order: ...
    def get(self, order_id: str, *, timeout: float | None = None, max_retries: int | None = None) -> Order: ...
    def get_by_reference(
        self, order_reference: str, *, timeout: float | None = None, max_retries: int | None = None
    ) -> Order: ...
    def list(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        status: str | None = None,
        currency: str | None = None,
        chain_id: str | None = None,
        order_reference: str | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Page[Order]: ...
    def list_all(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        status: str | None = None,
        currency: str | None = None,
        chain_id: str | None = None,
        order_reference: str | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Iterator[Order]: ...

class Deposits:
    """Permanent deposit addresses per end user (``/deposits``)."""

    @overload
    def bind(
        self,
        *,
        deposit_reference: str,
        chain_id: str,
        currency: str,
        protocol: None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> BoundReference: ...
    @overload
    def bind(
        self,
        *,
        deposit_reference: str,
        chain_id: None = None,
        currency: None = None,
        protocol: str,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> BoundProtocol: ...
    def get_reference(
        self, deposit_reference: str, *, timeout: float | None = None, max_retries: int | None = None
    ) -> DepositReference: ...
    def list_references(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        search: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Page[DepositReferenceSummary]: ...
    def list(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        deposit_reference: str | None = None,
        status: str | None = None,
        currency: str | None = None,
        chain_id: str | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Page[Deposit]: ...
    def list_all(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        deposit_reference: str | None = None,
        status: str | None = None,
        currency: str | None = None,
        chain_id: str | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Iterator[Deposit]: ...
    def unbind(
        self,
        deposit_reference: str,
        *,
        chain_id: str | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Unbound: ...

class Chains:
    """The networks the gateway knows (``/chains``)."""

    def list(self, *, timeout: float | None = None, max_retries: int | None = None) -> builtins.list[Chain]: ...

class Pool:
    """The address pool (``/addresses``)."""

    def status(self, *, timeout: float | None = None, max_retries: int | None = None) -> builtins.list[PoolStatus]: ...
    def import_addresses(
        self,
        *,
        protocol: str,
        addresses: Iterable[str],
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> ImportResult: ...
    def add_xpub(
        self,
        *,
        protocol: str,
        xpub: str,
        start: int | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> XpubKey: ...
    def list_xpubs(self, *, timeout: float | None = None, max_retries: int | None = None) -> builtins.list[XpubKey]: ...

class Config:
    """The runtime settings (``/config``)."""

    def get(self, *, timeout: float | None = None, max_retries: int | None = None) -> Settings: ...
    def set(
        self, key: str, value: Any, *, timeout: float | None = None, max_retries: int | None = None
    ) -> Settings: ...

class Webhooks:
    """Webhook endpoints and their deliveries (``/webhooks``)."""

    def create(
        self,
        *,
        url: str,
        events: Iterable[str] | None = None,
        description: str | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> CreatedWebhookEndpoint: ...
    def list(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Page[WebhookEndpoint]: ...
    def list_all(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Iterator[WebhookEndpoint]: ...
    def get(
        self, webhook_id: str, *, timeout: float | None = None, max_retries: int | None = None
    ) -> WebhookEndpoint: ...
    def delete(
        self, webhook_id: str, *, timeout: float | None = None, max_retries: int | None = None
    ) -> WebhookEndpoint: ...
    def rotate_secret(
        self,
        webhook_id: str,
        *,
        keep_previous_hours: int | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> RotatedSecret: ...
    def deliveries(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        event_id: str | None = None,
        endpoint_id: str | None = None,
        status: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Page[Delivery]: ...

class Events:
    """Events (``/events``)."""

    def list(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        type: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Page[Event]: ...
    def list_all(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        type: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Iterator[Event]: ...
    def get(self, event_id: str, *, timeout: float | None = None, max_retries: int | None = None) -> Event: ...
    def resend(
        self,
        event_id: str,
        *,
        endpoint_id: str | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Resent: ...

class Dev:
    """The dev chain of ``payin dev`` (``/dev``)."""

    def simulate_payment(
        self,
        *,
        order_id: str | None = None,
        address: str | None = None,
        scenario: str | None = None,
        amount: Decimal | int | str | None = None,
        currency: str | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> SimulatedPayment: ...
    def mine_blocks(
        self,
        blocks: int | None = None,
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> MinedBlocks: ...

class AsyncOrders:
    """``Orders`` of ``AsyncClient``: every method returns an awaitable."""

    def create(
        self,
        *,
        order_reference: str,
        amount: Decimal | int | str,
        currency: str,
        chain_id: str,
        metadata: Mapping[str, Any] | None = None,
        success_url: str | None = None,
        cancel_url: str | None = None,
        payment_window_minutes: int | None = None,
        grace_minutes: int | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Coroutine[Any, Any, Order]: ...
    def get(self, order_id: str, *, timeout: float | None = None, max_retries: int | None = None) -> Coroutine[Any, Any, Order]: ...
    def get_by_reference(
        self, order_reference: str, *, timeout: float | None = None, max_retries: int | None = None
    ) -> Coroutine[Any, Any, Order]: ...
    def list(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        status: str | None = None,
        currency: str | None = None,
        chain_id: str | None = None,
        order_reference: str | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Coroutine[Any, Any, AsyncPage[Order]]: ...
    def list_all(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        status: str | None = None,
        currency: str | None = None,
        chain_id: str | None = None,
        order_reference: str | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> AsyncIterator[Order]: ...

class AsyncDeposits:
    """``Deposits`` of ``AsyncClient``: every method returns an awaitable."""

    @overload
    def bind(
        self,
        *,
        deposit_reference: str,
        chain_id: str,
        currency: str,
        protocol: None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Coroutine[Any, Any, BoundReference]: ...
    @overload
    def bind(
        self,
        *,
        deposit_reference: str,
        chain_id: None = None,
        currency: None = None,
        protocol: str,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Coroutine[Any, Any, BoundProtocol]: ...
    def get_reference(
        self, deposit_reference: str, *, timeout: float | None = None, max_retries: int | None = None
    ) -> Coroutine[Any, Any, DepositReference]: ...
    def list_references(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        search: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Coroutine[Any, Any, AsyncPage[DepositReferenceSummary]]: ...
    def list(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        deposit_reference: str | None = None,
        status: str | None = None,
        currency: str | None = None,
        chain_id: str | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Coroutine[Any, Any, AsyncPage[Deposit]]: ...
    def list_all(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        deposit_reference: str | None = None,
        status: str | None = None,
        currency: str | None = None,
        chain_id: str | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> AsyncIterator[Deposit]: ...
    def unbind(
        self,
        deposit_reference: str,
        *,
        chain_id: str | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Coroutine[Any, Any, Unbound]: ...

class AsyncChains:
    """``Chains`` of ``AsyncClient``: every method returns an awaitable."""

    def list(self, *, timeout: float | None = None, max_retries: int | None = None) -> Coroutine[Any, Any, builtins.list[Chain]]: ...

class AsyncPool:
    """``Pool`` of ``AsyncClient``: every method returns an awaitable."""

    def status(self, *, timeout: float | None = None, max_retries: int | None = None) -> Coroutine[Any, Any, builtins.list[PoolStatus]]: ...
    def import_addresses(
        self,
        *,
        protocol: str,
        addresses: Iterable[str],
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Coroutine[Any, Any, ImportResult]: ...
    def add_xpub(
        self,
        *,
        protocol: str,
        xpub: str,
        start: int | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Coroutine[Any, Any, XpubKey]: ...
    def list_xpubs(
        self, *, timeout: float | None = None, max_retries: int | None = None
    ) -> Coroutine[Any, Any, builtins.list[XpubKey]]: ...

class AsyncConfig:
    """``Config`` of ``AsyncClient``: every method returns an awaitable."""

    def get(self, *, timeout: float | None = None, max_retries: int | None = None) -> Coroutine[Any, Any, Settings]: ...
    def set(
        self, key: str, value: Any, *, timeout: float | None = None, max_retries: int | None = None
    ) -> Coroutine[Any, Any, Settings]: ...

class AsyncWebhooks:
    """``Webhooks`` of ``AsyncClient``: every method returns an awaitable."""

    def create(
        self,
        *,
        url: str,
        events: Iterable[str] | None = None,
        description: str | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Coroutine[Any, Any, CreatedWebhookEndpoint]: ...
    def list(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Coroutine[Any, Any, AsyncPage[WebhookEndpoint]]: ...
    def list_all(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> AsyncIterator[WebhookEndpoint]: ...
    def get(
        self, webhook_id: str, *, timeout: float | None = None, max_retries: int | None = None
    ) -> Coroutine[Any, Any, WebhookEndpoint]: ...
    def delete(
        self, webhook_id: str, *, timeout: float | None = None, max_retries: int | None = None
    ) -> Coroutine[Any, Any, WebhookEndpoint]: ...
    def rotate_secret(
        self,
        webhook_id: str,
        *,
        keep_previous_hours: int | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Coroutine[Any, Any, RotatedSecret]: ...
    def deliveries(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        event_id: str | None = None,
        endpoint_id: str | None = None,
        status: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Coroutine[Any, Any, AsyncPage[Delivery]]: ...

class AsyncEvents:
    """``Events`` of ``AsyncClient``: every method returns an awaitable."""

    def list(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        type: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Coroutine[Any, Any, AsyncPage[Event]]: ...
    def list_all(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        type: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> AsyncIterator[Event]: ...
    def get(self, event_id: str, *, timeout: float | None = None, max_retries: int | None = None) -> Coroutine[Any, Any, Event]: ...
    def resend(
        self,
        event_id: str,
        *,
        endpoint_id: str | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Coroutine[Any, Any, Resent]: ...

class AsyncDev:
    """``Dev`` of ``AsyncClient``: every method returns an awaitable."""

    def simulate_payment(
        self,
        *,
        order_id: str | None = None,
        address: str | None = None,
        scenario: str | None = None,
        amount: Decimal | int | str | None = None,
        currency: str | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Coroutine[Any, Any, SimulatedPayment]: ...
    def mine_blocks(
        self,
        blocks: int | None = None,
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Coroutine[Any, Any, MinedBlocks]: ...

class PaymentLinks:
    """Payment links (``/payment-links``)."""

    def create(
        self,
        *,
        title: str,
        amount: Decimal | int | str,
        currencies: Iterable[Mapping[str, str]],
        description: str | None = None,
        min_amount: Decimal | int | str | None = None,
        max_amount: Decimal | int | str | None = None,
        inventory_total: int | None = None,
        expires_at: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> PaymentLink: ...
    def get(self, id: str, *, timeout: float | None = None, max_retries: int | None = None) -> PaymentLink: ...
    def list(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        status: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Page[PaymentLink]: ...
    def list_all(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        status: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Iterator[PaymentLink]: ...
    def publish(
        self, id: str, *, idempotency_key: str | None = None, timeout: float | None = None, max_retries: int | None = None
    ) -> PaymentLink: ...
    def archive(
        self, id: str, *, idempotency_key: str | None = None, timeout: float | None = None, max_retries: int | None = None
    ) -> PaymentLink: ...

class AsyncPaymentLinks:
    """``PaymentLinks`` of ``AsyncClient``: every method returns an awaitable."""

    def create(
        self,
        *,
        title: str,
        amount: Decimal | int | str,
        currencies: Iterable[Mapping[str, str]],
        description: str | None = None,
        min_amount: Decimal | int | str | None = None,
        max_amount: Decimal | int | str | None = None,
        inventory_total: int | None = None,
        expires_at: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Coroutine[Any, Any, PaymentLink]: ...
    def get(self, id: str, *, timeout: float | None = None, max_retries: int | None = None) -> Coroutine[Any, Any, PaymentLink]: ...
    def list(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        status: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Coroutine[Any, Any, AsyncPage[PaymentLink]]: ...
    def list_all(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        status: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> AsyncIterator[PaymentLink]: ...
    def publish(
        self, id: str, *, idempotency_key: str | None = None, timeout: float | None = None, max_retries: int | None = None
    ) -> Coroutine[Any, Any, PaymentLink]: ...
    def archive(
        self, id: str, *, idempotency_key: str | None = None, timeout: float | None = None, max_retries: int | None = None
    ) -> Coroutine[Any, Any, PaymentLink]: ...

class Client:
    """A client of a PayIn gateway; each call blocks (releasing the interpreter) until its answer.

    ``api_key`` and ``base_url`` default to ``PAYIN_API_KEY`` and ``PAYIN_BASE_URL``; the URL may
    be the gateway's root or its ``/api/v1`` URL. ``timeout`` is per attempt, in seconds;
    network errors, 429 and 5xx are retried ``max_retries`` times.
    """

    orders: Orders
    deposits: Deposits
    chains: Chains
    pool: Pool
    payment_links: PaymentLinks
    config: Config
    webhooks: Webhooks
    events: Events
    dev: Dev
    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = 60.0,
        max_retries: int = 2,
    ) -> None: ...
    @property
    def base_url(self) -> str: ...

class AsyncClient:
    """``Client`` of ``AsyncClient``: every method returns an awaitable."""

    orders: AsyncOrders
    deposits: AsyncDeposits
    chains: AsyncChains
    pool: AsyncPool
    payment_links: AsyncPaymentLinks
    config: AsyncConfig
    webhooks: AsyncWebhooks
    events: AsyncEvents
    dev: AsyncDev
    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = 60.0,
        max_retries: int = 2,
    ) -> None: ...
    @property
    def base_url(self) -> str: ...
