"""``payin.Client`` and ``payin.AsyncClient``: the REST API in resource namespaces.

Both clients share the resource classes below; what differs is the transport under them:
``_Blocking`` runs each call in the Rust client on the calling thread (the interpreter is
released while it waits), ``_Awaiting`` returns an asyncio awaitable of the same call. The
Rust client (``payin._native``) does the HTTP, the retries, the ``Idempotency-Key`` of every
POST and the pagination rule; this module turns keyword arguments into the API's JSON and the
JSON answers into ``payin`` objects. Types are in ``_client.pyi``.
"""

import json
import sys
from decimal import Decimal
from typing import Generic, TypeVar

from . import _native
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

DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 2
USER_AGENT = "payin-python/{} (CPython {}.{})".format(_native.__version__, *sys.version_info[:2])

T = TypeVar("T")

_loads = json.loads


def _dumps(args):
    return json.dumps(args, separators=(",", ":"), default=_json_default)


def _json_default(value):
    # Decimals inside metadata travel as exact decimal strings, never as floats.
    if isinstance(value, Decimal):
        return _decimal_text("metadata", value)
    raise TypeError("{} is not JSON serializable".format(type(value).__name__))


def _decimal_text(field, value):
    if not value.is_finite():
        raise ValueError("{} must be a finite decimal, got {}".format(field, value))
    return format(value, "f")


def _amount(field, value):
    """An amount as the API's decimal string: from a Decimal, an int or a string, never a float."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return _decimal_text(field, value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        raise TypeError(
            "{} must be a Decimal or a decimal string such as '10.50', not a float: "
            "a float cannot hold most amounts exactly".format(field)
        )
    raise TypeError("{} must be a Decimal, an int or a decimal string, got {}".format(field, type(value).__name__))


def _body(**members):
    """A request body: the members given, in the API's names (None: left to the server)."""
    return {k: v for k, v in members.items() if v is not None}


def _query(**members):
    """A list query: the API reads every parameter as text."""
    return {k: (str(v) if isinstance(v, int) and not isinstance(v, bool) else v) for k, v in members.items() if v is not None}


def _list_of(cls, key):
    def convert(data):
        return [cls(item) for item in data[key]]

    return convert


class _Blocking:
    """Runs calls on the calling thread; the interpreter is released while the call waits."""

    __slots__ = ("native",)

    def __init__(self, native):
        self.native = native

    def one(self, op, args, convert, options):
        return convert(_loads(self.native.call(op, _dumps(args), *options)))

    def page(self, op, args, cls, plural, options):
        answer = _loads(self.native.call(op, _dumps(args), *options))
        return Page(answer, _Walk(self, op, args, cls, plural, options))

    def walk(self, op, args, cls, plural, options):
        def items():
            yield from self.page(op, args, cls, plural, options)

        return items()


class _Awaiting:
    """Returns awaitables of the calls, run by the Rust client's runtime."""

    __slots__ = ("native",)

    def __init__(self, native):
        self.native = native

    async def one(self, op, args, convert, options):
        return convert(_loads(await self.native.call_async(op, _dumps(args), *options)))

    async def page(self, op, args, cls, plural, options):
        answer = _loads(await self.native.call_async(op, _dumps(args), *options))
        return AsyncPage(answer, _Walk(self, op, args, cls, plural, options))

    def walk(self, op, args, cls, plural, options):
        async def items():
            page = await self.page(op, args, cls, plural, options)
            async for item in page:
                yield item

        return items()


class _Walk:
    """How a page fetches the next one: the same call, filters and options, another page."""

    __slots__ = ("transport", "op", "args", "cls", "plural", "options")

    def __init__(self, transport, op, args, cls, plural, options):
        self.transport = transport
        self.op = op
        self.args = args
        self.cls = cls
        self.plural = plural
        self.options = options

    def fetch(self, page_number):
        args = dict(self.args, page=str(page_number))
        return self.transport.page(self.op, args, self.cls, self.plural, self.options)


class _PageBase(Generic[T]):
    __slots__ = ("data", "pagination", "next_page_number", "_walk", "_answer")

    def __init__(self, answer, walk):
        self._answer = answer
        self._walk = walk
        self.data = [walk.cls(item) for item in answer[walk.plural]]
        self.pagination = Pagination(answer["pagination"])
        # The Rust client's rule (next_page_query): None after the last page or an empty one.
        self.next_page_number = answer.get("nextPage")

    @property
    def has_more(self):
        """True when another page follows this one."""
        return self.next_page_number is not None

    def to_dict(self):
        """The list as the REST API sends it: ``{"<items>": [...], "pagination": {...}}``."""
        return {self._walk.plural: [item.to_dict() for item in self.data], "pagination": self.pagination.to_dict()}

    def __repr__(self):
        return "{}[{}](page={}, items={}, total={}, has_more={})".format(
            type(self).__name__,
            self._walk.cls.__name__,
            self.pagination.page,
            len(self.data),
            self.pagination.total,
            self.has_more,
        )


class Page(_PageBase[T]):
    """One page of a list. Iterating it yields every item from this page to the last page."""

    __slots__ = ()

    def next_page(self):
        """The next page, or None after the last."""
        if self.next_page_number is None:
            return None
        return self._walk.fetch(self.next_page_number)

    def iter_pages(self):
        """This page and every page after it."""
        page = self
        while page is not None:
            yield page
            page = page.next_page()

    def __iter__(self):
        for page in self.iter_pages():
            yield from page.data


class AsyncPage(_PageBase[T]):
    """One page of a list; ``async for`` over it yields every item from this page to the last."""

    __slots__ = ()

    async def next_page(self):
        """The next page, or None after the last."""
        if self.next_page_number is None:
            return None
        return await self._walk.fetch(self.next_page_number)

    async def iter_pages(self):
        """This page and every page after it."""
        page = self
        while page is not None:
            yield page
            page = await page.next_page()

    async def __aiter__(self):
        async for page in self.iter_pages():
            for item in page.data:
                yield item


class _Resource:
    __slots__ = ("_t",)

    def __init__(self, transport):
        self._t = transport


class Orders(_Resource):
    """One-time payment orders (``/orders``)."""

    __slots__ = ()

    def create(
        self,
        *,
        order_reference,
        amount,
        currency,
        chain_id,
        metadata=None,
        success_url=None,
        cancel_url=None,
        payment_window_minutes=None,
        grace_minutes=None,
        idempotency_key=None,
        timeout=None,
        max_retries=None,
    ):
        """Opens an order with its own address from the pool."""
        body = _body(
            orderReference=order_reference,
            amount=_amount("amount", amount),
            currency=currency,
            chainId=chain_id,
            metadata=metadata,
            successUrl=success_url,
            cancelUrl=cancel_url,
            paymentWindowMinutes=payment_window_minutes,
            graceMinutes=grace_minutes,
        )
        return self._t.one("orders.create", body, Order, (idempotency_key, timeout, max_retries))

    def get(self, order_id, *, timeout=None, max_retries=None):
        """The order ``ord_…``."""
        return self._t.one("orders.get", {"orderId": order_id}, Order, (None, timeout, max_retries))

    def get_by_reference(self, order_reference, *, timeout=None, max_retries=None):
        """The order with your reference."""
        args = {"orderReference": order_reference}
        return self._t.one("orders.get_by_reference", args, Order, (None, timeout, max_retries))

    def list(
        self,
        *,
        page=None,
        limit=None,
        status=None,
        currency=None,
        chain_id=None,
        order_reference=None,
        sort_by=None,
        sort_order=None,
        timeout=None,
        max_retries=None,
    ):
        """One page of orders (newest first by default); iterate it to walk every page."""
        query = _query(
            page=page,
            limit=limit,
            status=status,
            currency=currency,
            chainId=chain_id,
            orderReference=order_reference,
            sortBy=sort_by,
            sortOrder=sort_order,
        )
        return self._t.page("orders.list", query, Order, "orders", (None, timeout, max_retries))

    def list_all(
        self,
        *,
        page=None,
        limit=None,
        status=None,
        currency=None,
        chain_id=None,
        order_reference=None,
        sort_by=None,
        sort_order=None,
        timeout=None,
        max_retries=None,
    ):
        """Every order the filters match, page after page, fetched as you iterate."""
        query = _query(
            page=page,
            limit=limit,
            status=status,
            currency=currency,
            chainId=chain_id,
            orderReference=order_reference,
            sortBy=sort_by,
            sortOrder=sort_order,
        )
        return self._t.walk("orders.list", query, Order, "orders", (None, timeout, max_retries))


class Deposits(_Resource):
    """Permanent deposit addresses per end user (``/deposits``)."""

    __slots__ = ()

    def bind(
        self,
        *,
        deposit_reference,
        chain_id=None,
        currency=None,
        protocol=None,
        metadata=None,
        idempotency_key=None,
        timeout=None,
        max_retries=None,
    ):
        """Binds an address to your reference: on one chain for one currency (``chain_id`` and
        ``currency``), or on every chain of a protocol (``protocol``, e.g. ``"evm"``)."""
        options = (idempotency_key, timeout, max_retries)
        if protocol is not None:
            if chain_id is not None or currency is not None:
                raise TypeError("bind takes chain_id and currency, or protocol, not both")
            body = _body(depositReference=deposit_reference, protocol=protocol, metadata=metadata)
            return self._t.one("deposits.bind_protocol", body, BoundProtocol, options)
        if chain_id is None or currency is None:
            raise TypeError("bind needs chain_id and currency (one chain), or protocol (all its chains)")
        body = _body(depositReference=deposit_reference, chainId=chain_id, currency=currency, metadata=metadata)
        return self._t.one("deposits.bind_reference", body, BoundReference, options)

    def get_reference(self, deposit_reference, *, timeout=None, max_retries=None):
        """A deposit reference with its addresses and totals."""
        args = {"depositReference": deposit_reference}
        return self._t.one("deposits.get_reference", args, DepositReference, (None, timeout, max_retries))

    def list_references(self, *, page=None, limit=None, search=None, timeout=None, max_retries=None):
        """One page of deposit references; iterate it to walk every page."""
        query = _query(page=page, limit=limit, search=search)
        options = (None, timeout, max_retries)
        return self._t.page("deposits.list_references", query, DepositReferenceSummary, "references", options)

    def list(
        self,
        *,
        page=None,
        limit=None,
        deposit_reference=None,
        status=None,
        currency=None,
        chain_id=None,
        sort_by=None,
        sort_order=None,
        timeout=None,
        max_retries=None,
    ):
        """One page of deposits received; iterate it to walk every page."""
        query = _query(
            page=page,
            limit=limit,
            depositReference=deposit_reference,
            status=status,
            currency=currency,
            chainId=chain_id,
            sortBy=sort_by,
            sortOrder=sort_order,
        )
        return self._t.page("deposits.list", query, Deposit, "deposits", (None, timeout, max_retries))

    def list_all(
        self,
        *,
        page=None,
        limit=None,
        deposit_reference=None,
        status=None,
        currency=None,
        chain_id=None,
        sort_by=None,
        sort_order=None,
        timeout=None,
        max_retries=None,
    ):
        """Every deposit the filters match, page after page, fetched as you iterate."""
        query = _query(
            page=page,
            limit=limit,
            depositReference=deposit_reference,
            status=status,
            currency=currency,
            chainId=chain_id,
            sortBy=sort_by,
            sortOrder=sort_order,
        )
        return self._t.walk("deposits.list", query, Deposit, "deposits", (None, timeout, max_retries))

    def unbind(self, deposit_reference, *, chain_id=None, idempotency_key=None, timeout=None, max_retries=None):
        """Releases the reference's addresses (all, or on ``chain_id`` only)."""
        args = _body(depositReference=deposit_reference, chainId=chain_id)
        return self._t.one("deposits.unbind", args, Unbound, (idempotency_key, timeout, max_retries))


class Chains(_Resource):
    """The networks the gateway knows (``/chains``)."""

    __slots__ = ()

    def list(self, *, timeout=None, max_retries=None):
        """Every chain with its tokens."""
        return self._t.one("chains.list", {}, _list_of(Chain, "chains"), (None, timeout, max_retries))


class Pool(_Resource):
    """The address pool (``/addresses``)."""

    __slots__ = ()

    def status(self, *, timeout=None, max_retries=None):
        """Available / assigned / cooldown counts per protocol."""
        return self._t.one("pool.status", {}, _list_of(PoolStatus, "pools"), (None, timeout, max_retries))

    def import_addresses(self, *, protocol, addresses, idempotency_key=None, timeout=None, max_retries=None):
        """Adds watch-only addresses to the pool of ``protocol`` (duplicates are counted, not added)."""
        body = {"protocol": protocol, "addresses": list(addresses)}
        return self._t.one("pool.import_addresses", body, ImportResult, (idempotency_key, timeout, max_retries))

    def add_xpub(self, *, protocol, xpub, start=None, idempotency_key=None, timeout=None, max_retries=None):
        """Adds a watch-only ACCOUNT xpub the pool derives addresses from; returns its fingerprint
        and first three addresses. Private keys and mnemonics are refused (``ValidationError``)."""
        body = {"protocol": protocol, "xpub": xpub}
        if start is not None:
            body["start"] = start
        return self._t.one("pool.add_xpub", body, XpubKey, (idempotency_key, timeout, max_retries))

    def list_xpubs(self, *, timeout=None, max_retries=None):
        """The pool's HD keys, oldest first."""
        return self._t.one("pool.list_xpubs", {}, _list_of(XpubKey, "xpubs"), (None, timeout, max_retries))


class PaymentLinks(_Resource):
    """Payment links (``/payment-links``): a price and the currencies it accepts, sold from a
    public checkout page that opens an order per buyer."""

    __slots__ = ()

    def create(
        self,
        *,
        title,
        amount,
        currencies,
        description=None,
        min_amount=None,
        max_amount=None,
        inventory_total=None,
        expires_at=None,
        metadata=None,
        idempotency_key=None,
        timeout=None,
        max_retries=None,
    ):
        """Creates a link in ``draft``; ``amount`` ``"0"`` lets the payer choose (within
        ``min_amount``/``max_amount``). ``currencies`` are ``{"currency", "chain_id"}`` pairs."""
        body = _body(
            title=title,
            description=description,
            amount=_amount("amount", amount),
            minAmount=None if min_amount is None else _amount("min_amount", min_amount),
            maxAmount=None if max_amount is None else _amount("max_amount", max_amount),
            currencies=[_link_currency(c) for c in currencies],
            inventoryTotal=inventory_total,
            expiresAt=expires_at,
            metadata=metadata,
        )
        return self._t.one("payment_links.create", body, PaymentLink, (idempotency_key, timeout, max_retries))

    def get(self, id, *, timeout=None, max_retries=None):
        """The link ``plk_…``."""
        return self._t.one("payment_links.get", {"id": id}, PaymentLink, (None, timeout, max_retries))

    def list(self, *, page=None, limit=None, status=None, timeout=None, max_retries=None):
        """One page of links (newest first); iterate it to walk every page."""
        query = _query(page=page, limit=limit, status=status)
        return self._t.page("payment_links.list", query, PaymentLink, "paymentLinks", (None, timeout, max_retries))

    def list_all(self, *, page=None, limit=None, status=None, timeout=None, max_retries=None):
        """Every link the filter matches, page after page, fetched as you iterate."""
        query = _query(page=page, limit=limit, status=status)
        return self._t.walk("payment_links.list", query, PaymentLink, "paymentLinks", (None, timeout, max_retries))

    def publish(self, id, *, idempotency_key=None, timeout=None, max_retries=None):
        """``draft`` → ``active``: its checkout page sells."""
        return self._t.one("payment_links.publish", {"id": id}, PaymentLink, (idempotency_key, timeout, max_retries))

    def archive(self, id, *, idempotency_key=None, timeout=None, max_retries=None):
        """Stops selling for good (pending orders stay payable)."""
        return self._t.one("payment_links.archive", {"id": id}, PaymentLink, (idempotency_key, timeout, max_retries))


def _link_currency(c):
    if isinstance(c, dict) and "chain_id" in c:
        return {"currency": c["currency"], "chainId": c["chain_id"]}
    return dict(c)


class Config(_Resource):
    """The runtime settings (``/config``)."""

    __slots__ = ()

    def get(self, *, timeout=None, max_retries=None):
        """The effective settings."""
        return self._t.one("config.get", {}, Settings, (None, timeout, max_retries))

    def set(self, key, value, *, timeout=None, max_retries=None):
        """Stores one setting (e.g. ``"payment_window_minutes"``, ``30``); returns the new settings."""
        return self._t.one("config.set", {"key": key, "value": value}, Settings, (None, timeout, max_retries))


class Webhooks(_Resource):
    """Webhook endpoints and their deliveries (``/webhooks``)."""

    __slots__ = ()

    def create(self, *, url, events=None, description=None, idempotency_key=None, timeout=None, max_retries=None):
        """Registers ``url`` for ``events`` (default: all); the result carries the signing secret."""
        body = _body(url=url, events=None if events is None else list(events), description=description)
        return self._t.one("webhooks.create", body, CreatedWebhookEndpoint, (idempotency_key, timeout, max_retries))

    def list(self, *, page=None, limit=None, timeout=None, max_retries=None):
        """One page of endpoints; iterate it to walk every page."""
        query = _query(page=page, limit=limit)
        return self._t.page("webhooks.list", query, WebhookEndpoint, "webhooks", (None, timeout, max_retries))

    def list_all(self, *, page=None, limit=None, timeout=None, max_retries=None):
        """Every endpoint, page after page, fetched as you iterate."""
        query = _query(page=page, limit=limit)
        return self._t.walk("webhooks.list", query, WebhookEndpoint, "webhooks", (None, timeout, max_retries))

    def get(self, webhook_id, *, timeout=None, max_retries=None):
        """The endpoint ``whe_…``."""
        args = {"webhookId": webhook_id}
        return self._t.one("webhooks.get", args, WebhookEndpoint, (None, timeout, max_retries))

    def delete(self, webhook_id, *, timeout=None, max_retries=None):
        """Deletes the endpoint: nothing more is delivered to it."""
        args = {"webhookId": webhook_id}
        return self._t.one("webhooks.delete", args, WebhookEndpoint, (None, timeout, max_retries))

    def rotate_secret(
        self, webhook_id, *, keep_previous_hours=None, idempotency_key=None, timeout=None, max_retries=None
    ):
        """A new signing secret; the old one keeps signing beside it for ``keep_previous_hours``."""
        args = _body(webhookId=webhook_id, keepPreviousHours=keep_previous_hours)
        return self._t.one("webhooks.rotate_secret", args, RotatedSecret, (idempotency_key, timeout, max_retries))

    def deliveries(
        self, *, page=None, limit=None, event_id=None, endpoint_id=None, status=None, timeout=None, max_retries=None
    ):
        """One page of deliveries with their attempts; iterate it to walk every page."""
        query = _query(page=page, limit=limit, eventId=event_id, endpointId=endpoint_id, status=status)
        return self._t.page("webhooks.deliveries", query, Delivery, "deliveries", (None, timeout, max_retries))


class Events(_Resource):
    """Events (``/events``)."""

    __slots__ = ()

    def list(self, *, page=None, limit=None, type=None, timeout=None, max_retries=None):
        """One page of events (``type``, e.g. ``"order.completed"``, filters); iterate it to walk every page."""
        query = _query(page=page, limit=limit, type=type)
        return self._t.page("events.list", query, Event, "events", (None, timeout, max_retries))

    def list_all(self, *, page=None, limit=None, type=None, timeout=None, max_retries=None):
        """Every event (of ``type``), page after page, fetched as you iterate."""
        query = _query(page=page, limit=limit, type=type)
        return self._t.walk("events.list", query, Event, "events", (None, timeout, max_retries))

    def get(self, event_id, *, timeout=None, max_retries=None):
        """The event ``evt_…``."""
        return self._t.one("events.get", {"eventId": event_id}, Event, (None, timeout, max_retries))

    def resend(self, event_id, *, endpoint_id=None, idempotency_key=None, timeout=None, max_retries=None):
        """Delivers the event again (to every subscribed endpoint, or to ``endpoint_id``)."""
        args = _body(eventId=event_id, endpointId=endpoint_id)
        return self._t.one("events.resend", args, Resent, (idempotency_key, timeout, max_retries))


class Dev(_Resource):
    """The dev chain of ``payin dev`` (``/dev``)."""

    __slots__ = ()

    def simulate_payment(
        self,
        *,
        order_id=None,
        address=None,
        scenario=None,
        amount=None,
        currency=None,
        idempotency_key=None,
        timeout=None,
        max_retries=None,
    ):
        """Sends a real token transfer on the dev chain to an order (or any address)."""
        body = _body(
            orderId=order_id,
            address=address,
            scenario=scenario,
            amount=_amount("amount", amount),
            currency=currency,
        )
        return self._t.one("dev.simulate_payment", body, SimulatedPayment, (idempotency_key, timeout, max_retries))

    def mine_blocks(self, blocks=None, *, idempotency_key=None, timeout=None, max_retries=None):
        """Mines empty blocks (confirmations for pending payments)."""
        return self._t.one("dev.mine_blocks", _body(blocks=blocks), MinedBlocks, (idempotency_key, timeout, max_retries))


class AsyncOrders(Orders):
    """Orders of ``AsyncClient``: every method returns an awaitable."""

    __slots__ = ()


class AsyncDeposits(Deposits):
    """Deposits of ``AsyncClient``: every method returns an awaitable."""

    __slots__ = ()


class AsyncChains(Chains):
    """Chains of ``AsyncClient``: every method returns an awaitable."""

    __slots__ = ()


class AsyncPool(Pool):
    """Pool of ``AsyncClient``: every method returns an awaitable."""

    __slots__ = ()


class AsyncPaymentLinks(PaymentLinks):
    """PaymentLinks of ``AsyncClient``: every method returns an awaitable."""

    __slots__ = ()


class AsyncConfig(Config):
    """Config of ``AsyncClient``: every method returns an awaitable."""

    __slots__ = ()


class AsyncWebhooks(Webhooks):
    """Webhooks of ``AsyncClient``: every method returns an awaitable."""

    __slots__ = ()


class AsyncEvents(Events):
    """Events of ``AsyncClient``: every method returns an awaitable."""

    __slots__ = ()


class AsyncDev(Dev):
    """Dev of ``AsyncClient``: every method returns an awaitable."""

    __slots__ = ()


def _native_client(api_key, base_url, timeout, max_retries):
    if timeout is None:
        timeout = DEFAULT_TIMEOUT
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError("max_retries must be a whole number >= 0, got {!r}".format(max_retries))
    return _native.Client(api_key, base_url, float(timeout), max_retries, USER_AGENT)


class Client:
    """A client of a PayIn gateway. Each call blocks until its answer (releasing the interpreter
    meanwhile); failed calls are retried as the Rust client does (network errors, 429, 5xx).

    ``api_key`` and ``base_url`` default to ``PAYIN_API_KEY`` and ``PAYIN_BASE_URL``; the URL
    may be the gateway's root or its ``/api/v1`` URL. ``timeout`` is per attempt, in seconds.
    """

    def __init__(self, api_key=None, base_url=None, timeout=DEFAULT_TIMEOUT, max_retries=DEFAULT_MAX_RETRIES):
        transport = _Blocking(_native_client(api_key, base_url, timeout, max_retries))
        self._transport = transport
        self.orders = Orders(transport)
        self.deposits = Deposits(transport)
        self.chains = Chains(transport)
        self.pool = Pool(transport)
        self.payment_links = PaymentLinks(transport)
        self.config = Config(transport)
        self.webhooks = Webhooks(transport)
        self.events = Events(transport)
        self.dev = Dev(transport)

    @property
    def base_url(self):
        """The gateway's root this client calls (``…/``, without ``api/v1``)."""
        return self._transport.native.base_url

    def __repr__(self):
        return "{}(base_url={!r})".format(type(self).__name__, self.base_url)


class AsyncClient:
    """``Client`` for asyncio: the same namespaces and methods, returning awaitables
    (``await client.orders.get(…)``; ``async for`` over pages and ``list_all``)."""

    def __init__(self, api_key=None, base_url=None, timeout=DEFAULT_TIMEOUT, max_retries=DEFAULT_MAX_RETRIES):
        transport = _Awaiting(_native_client(api_key, base_url, timeout, max_retries))
        self._transport = transport
        self.orders = AsyncOrders(transport)
        self.deposits = AsyncDeposits(transport)
        self.chains = AsyncChains(transport)
        self.pool = AsyncPool(transport)
        self.payment_links = AsyncPaymentLinks(transport)
        self.config = AsyncConfig(transport)
        self.webhooks = AsyncWebhooks(transport)
        self.events = AsyncEvents(transport)
        self.dev = AsyncDev(transport)

    @property
    def base_url(self):
        """The gateway's root this client calls (``…/``, without ``api/v1``)."""
        return self._transport.native.base_url

    def __repr__(self):
        return "{}(base_url={!r})".format(type(self).__name__, self.base_url)
