"""The API's objects as Python classes.

Each object keeps the JSON the API sent and reads its attributes from it on access:
snake_case names, amounts as ``decimal.Decimal`` (never float), times as timezone-aware
``datetime``. ``to_dict()`` gives the JSON back exactly as the REST API sends it (camelCase,
amounts as decimal strings). Types are in ``_models.pyi``.
"""

import copy
from datetime import datetime
from decimal import Decimal

__all__ = [
    "PaymentLink",
    "LinkCurrency",
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
    "DerivedAddress",
    "XpubKey",
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


def _decimal(value):
    return Decimal(value)


def _time(value):
    # The API writes UTC with milliseconds and a "Z", which fromisoformat reads from 3.11 on.
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    return datetime.fromisoformat(value)


def _decimals(value):
    return {currency: Decimal(amount) for currency, amount in value.items()}


def _list_of(cls):
    def convert(values):
        return [cls(v) for v in values]

    return convert


def _field(key, convert=None, doc=None):
    """A read-only attribute: member ``key`` of the JSON, through ``convert`` unless null."""
    if convert is None:

        def get(self):
            return self._data.get(key)

    else:

        def get(self):
            value = self._data.get(key)
            return None if value is None else convert(value)

    return property(get, doc=doc or "``{}`` of the API's JSON.".format(key))


class PayInObject:
    """An object of the PayIn API. ``to_dict()`` is its JSON as the REST API sends it."""

    __slots__ = ("_data",)

    def __init__(self, data):
        if not isinstance(data, dict):
            raise TypeError("{} needs the API's JSON object, got {}".format(type(self).__name__, type(data).__name__))
        self._data = data

    def to_dict(self):
        """The JSON object as the REST API sends it (a copy: camelCase, amounts as strings)."""
        return copy.deepcopy(self._data)

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self._data == other._data

    # Equal objects must hash alike, and the JSON inside is a mutable dict.
    __hash__ = None

    def __repr__(self):
        shown = ", ".join("{}={!r}".format(k, v) for k, v in list(self._data.items())[:4])
        return "{}({}{})".format(type(self).__name__, shown, ", …" if len(self._data) > 4 else "")


class Order(PayInObject):
    """A one-time payment order: ``pending`` → ``completed`` | ``expired``."""

    __slots__ = ()
    order_id = _field("orderId")
    order_reference = _field("orderReference")
    amount = _field("amount", _decimal)
    pay_amount = _field(
        "payAmount", _decimal, "What the payer must send (``amount`` plus a unique tail for a shared address)."
    )
    currency = _field("currency")
    chain_id = _field("chainId")
    protocol = _field("protocol")
    address = _field("address")
    status = _field("status")
    amount_received = _field("amountReceived", _decimal, "Sum of counted payments so far.")
    metadata = _field("metadata")
    success_url = _field("successUrl")
    cancel_url = _field("cancelUrl")
    payment_url = _field("paymentUrl", doc="The hosted payment page of this order.")
    payment_window_minutes = _field("paymentWindowMinutes")
    grace_minutes = _field("graceMinutes")
    created_at = _field("createdAt", _time)
    expires_at = _field("expiresAt", _time)
    completed_at = _field("completedAt", _time)
    expired_at = _field("expiredAt", _time)
    tx_hash = _field("txHash", doc="The completing payment's transaction.")
    block_number = _field("blockNumber")
    confirmations = _field("confirmations")
    surplus = _field("surplus", _decimal, "What was paid beyond ``amount``, once completed by an overpayment.")
    payment_link_id = _field("paymentLinkId", doc="The payment link (``plk_…``) whose checkout opened this order.")
    shared_address = _field("sharedAddress", doc="True when paid to a shared address by exact ``pay_amount``.")
    fiat_currency = _field("fiatCurrency", doc="The fiat currency the order was priced in, if converted.")
    fiat_amount = _field("fiatAmount", _decimal, "The fiat price the order was converted from.")
    rate = _field("rate", _decimal, "Fiat units per token unit used for the conversion.")


class LinkCurrency(PayInObject):
    """A currency and network a payment link accepts."""

    __slots__ = ()
    currency = _field("currency")
    chain_id = _field("chainId")


class PaymentLink(PayInObject):
    """A payment link: ``draft`` → ``active`` → ``archived``; its ``checkout_url`` opens orders."""

    __slots__ = ()
    id = _field("id")
    slug = _field("slug")
    title = _field("title")
    description = _field("description")
    amount = _field("amount", _decimal, "The price; ``0`` when the payer chooses.")
    min_amount = _field("minAmount", _decimal)
    max_amount = _field("maxAmount", _decimal)
    currencies = _field("currencies", _list_of(LinkCurrency))
    status = _field("status")
    inventory_total = _field("inventoryTotal")
    inventory_reserved = _field("inventoryReserved")
    inventory_sold = _field("inventorySold")
    inventory_remaining = _field("inventoryRemaining")
    expires_at = _field("expiresAt", _time)
    metadata = _field("metadata")
    checkout_url = _field("checkoutUrl", doc="The public checkout page of this link.")
    created_at = _field("createdAt", _time)
    updated_at = _field("updatedAt", _time)


class Deposit(PayInObject):
    """A payment received on a deposit address: ``pending`` → ``confirmed`` → ``completed``."""

    __slots__ = ()
    deposit_id = _field("depositId")
    deposit_reference = _field("depositReference")
    amount = _field("amount", _decimal)
    currency = _field("currency")
    chain_id = _field("chainId")
    address = _field("address")
    tx_hash = _field("txHash")
    log_index = _field("logIndex")
    block_number = _field("blockNumber")
    status = _field("status")
    confirmations = _field("confirmations")
    detected_at = _field("detectedAt", _time)
    confirmed_at = _field("confirmedAt", _time)
    completed_at = _field("completedAt", _time)


class DepositBinding(PayInObject):
    """One address of a deposit reference, on one chain (or a whole protocol)."""

    __slots__ = ()
    currency = _field("currency")
    chain_id = _field("chainId")
    protocol = _field("protocol")
    address = _field("address")
    created_at = _field("createdAt", _time)


class BoundReference(PayInObject):
    """A deposit reference bound on one chain for one currency."""

    __slots__ = ()
    deposit_reference = _field("depositReference")
    currency = _field("currency")
    chain_id = _field("chainId")
    protocol = _field("protocol")
    address = _field("address")
    metadata = _field("metadata")
    created_at = _field("createdAt", _time)


class BoundProtocol(PayInObject):
    """A deposit reference bound on every chain of a protocol."""

    __slots__ = ()
    deposit_reference = _field("depositReference")
    protocol = _field("protocol")
    address = _field("address")
    monitored_chains = _field("monitoredChains")
    metadata = _field("metadata")
    created_at = _field("createdAt", _time)


class DepositReference(PayInObject):
    """A deposit reference with its addresses and totals."""

    __slots__ = ()
    deposit_reference = _field("depositReference")
    addresses = _field("addresses", _list_of(DepositBinding))
    total_deposits = _field("totalDeposits")
    total_amount = _field("totalAmount", _decimals, "Amount received per currency.")
    metadata = _field("metadata")
    created_at = _field("createdAt", _time)


class DepositReferenceSummary(PayInObject):
    """A deposit reference as lists show it."""

    __slots__ = ()
    deposit_reference = _field("depositReference")
    protocols = _field("protocols")
    address_count = _field("addressCount")
    total_deposits = _field("totalDeposits")
    total_amount = _field("totalAmount", _decimals, "Amount received per currency.")
    last_deposit_at = _field("lastDepositAt", _time)
    created_at = _field("createdAt", _time)


class Unbound(PayInObject):
    """What an unbind released."""

    __slots__ = ()
    deposit_reference = _field("depositReference")
    unbound_addresses = _field("unboundAddresses")


class Token(PayInObject):
    """A token of a chain."""

    __slots__ = ()
    currency = _field("currency")
    contract = _field("contract")
    decimals = _field("decimals")
    configured = _field("configured")
    config_key = _field("configKey", doc="The config key that sets this token's contract.")


class Chain(PayInObject):
    """A network the gateway knows."""

    __slots__ = ()
    chain_id = _field("chainId")
    name = _field("name")
    protocol = _field("protocol")
    evm_chain_id = _field("evmChainId")
    testnet = _field("testnet")
    confirmations = _field("confirmations")
    rpc_configured = _field("rpcConfigured")
    rpc_requirements = _field("rpcRequirements")
    tokens = _field("tokens", _list_of(Token))


class PoolStatus(PayInObject):
    """The address pool of one protocol."""

    __slots__ = ()
    protocol = _field("protocol")
    available = _field("available")
    assigned = _field("assigned")
    cooldown = _field("cooldown")
    retired = _field("retired")
    total = _field("total")
    low_watermark = _field("lowWatermark")
    low = _field("low")


class ImportResult(PayInObject):
    """What an address import did."""

    __slots__ = ()
    protocol = _field("protocol")
    received = _field("received")
    imported = _field("imported")
    duplicates = _field("duplicates")


class DerivedAddress(PayInObject):
    """One address derived from an xpub."""

    __slots__ = ()
    index = _field("index")
    path = _field("path")
    address = _field("address")


class XpubKey(PayInObject):
    """A watch-only HD key of the pool: compare ``first_addresses`` with the wallet."""

    __slots__ = ()
    id = _field("id")
    protocol = _field("protocol")
    xpub = _field("xpub")
    fingerprint = _field("fingerprint")
    path = _field("path")
    start_index = _field("startIndex")
    next_index = _field("nextIndex")
    first_addresses = _field("firstAddresses", _list_of(DerivedAddress))
    created_at = _field("createdAt")


class Settings(PayInObject):
    """The runtime settings (``client.config``); the API names them in snake_case already."""

    __slots__ = ()
    payment_window_minutes = _field("payment_window_minutes")
    grace_minutes = _field("grace_minutes")
    address_cooldown_minutes = _field("address_cooldown_minutes")
    default_order_success_url = _field("default_order_success_url")
    default_order_cancel_url = _field("default_order_cancel_url")
    pool_low_watermark = _field("pool_low_watermark")


class WebhookEndpoint(PayInObject):
    """A URL that receives events."""

    __slots__ = ()
    id = _field("id")
    url = _field("url")
    description = _field("description")
    events = _field("events")
    status = _field("status")
    created_at = _field("createdAt", _time)
    disabled_at = _field("disabledAt", _time)
    disabled_reason = _field("disabledReason")


class CreatedWebhookEndpoint(WebhookEndpoint):
    """A new endpoint with its signing secret, shown only here."""

    __slots__ = ()
    secret = _field("secret", doc="The signing secret (``whsec_…``); not shown again.")


class RotatedSecret(WebhookEndpoint):
    """An endpoint's new signing secret, shown only here."""

    __slots__ = ()
    secret = _field("secret", doc="The new signing secret (``whsec_…``); not shown again.")
    previous_secret_expires_at = _field("previousSecretExpiresAt", _time)


class DeliveryAttempt(PayInObject):
    """One attempt of a delivery."""

    __slots__ = ()
    attempt = _field("attempt")
    started_at = _field("startedAt", _time)
    http_status = _field("httpStatus")
    error = _field("error")
    duration_ms = _field("durationMs")
    headers = _field("headers")


class Delivery(PayInObject):
    """An event's delivery to one endpoint, with every attempt."""

    __slots__ = ()
    id = _field("id")
    event_id = _field("eventId")
    event_type = _field("eventType")
    endpoint_id = _field("endpointId")
    status = _field("status")
    attempt_count = _field("attemptCount")
    next_attempt_at = _field("nextAttemptAt", _time)
    last_http_status = _field("lastHttpStatus")
    last_error = _field("lastError")
    last_duration_ms = _field("lastDurationMs")
    created_at = _field("createdAt", _time)
    delivered_at = _field("deliveredAt", _time)
    attempts = _field("attempts", _list_of(DeliveryAttempt))


class Resent(PayInObject):
    """The deliveries a resend queued."""

    __slots__ = ()
    event_id = _field("eventId")
    deliveries = _field("deliveries", _list_of(Delivery))


class Event(PayInObject):
    """An event, as listed and as a webhook delivers it: ``{"id", "type", "createdAt", "data"}``."""

    __slots__ = ()
    id = _field("id")
    type = _field("type", doc="e.g. ``order.completed``.")
    created_at = _field("createdAt", _time)
    data = _field("data", doc="The object the event is about, as JSON (amounts as strings).")

    @property
    def order(self):
        """The order of an ``order.*`` event, typed; otherwise None."""
        if str(self._data.get("type", "")).startswith("order.") and isinstance(self._data.get("data"), dict):
            return Order(self._data["data"])
        return None

    @property
    def deposit(self):
        """The deposit of a ``deposit.pending`` / ``deposit.confirmed`` event, typed; otherwise None."""
        if self._data.get("type") in ("deposit.pending", "deposit.confirmed") and isinstance(
            self._data.get("data"), dict
        ):
            return Deposit(self._data["data"])
        return None


class SimulatedPayment(PayInObject):
    """A payment sent on the dev chain of ``payin dev``."""

    __slots__ = ()
    order_id = _field("orderId")
    scenario = _field("scenario")
    chain_id = _field("chainId")
    from_ = _field("from", doc="The dev chain's funded payer account (``from`` in the JSON).")
    to = _field("to")
    currency = _field("currency")
    amount = _field("amount", _decimal)
    tx_hash = _field("txHash")
    block_number = _field("blockNumber")
    block_time = _field("blockTime", _time)


class MinedBlocks(PayInObject):
    """Blocks mined on the dev chain."""

    __slots__ = ()
    chain_id = _field("chainId")
    blocks_mined = _field("blocksMined")
    block_number = _field("blockNumber")


class Pagination(PayInObject):
    """Where a page lies in its list."""

    __slots__ = ()
    page = _field("page")
    limit = _field("limit")
    total = _field("total")
    total_pages = _field("totalPages")
    has_more = _field("hasMore")
