"""Every exception kind, each from a real failure where one can be produced: the live gateway,
a closed port, a hung listener, and scripted answers (test doubles) for statuses the gateway
does not produce on demand (429, 500, 403)."""

import json
import pickle

import pytest
from conftest import ScriptedServer, SilentServer, new_evm_address, wait_for

import payin


def envelope(status, code, message, **extra):
    body = {"success": False, "error": code.title(), "code": code, "message": message, "statusCode": status}
    body.update(extra)
    return json.dumps(body).encode()


def test_validation_error_names_the_field(client, ref):
    with pytest.raises(payin.ValidationError) as e:
        client.orders.create(order_reference=ref(), amount="1", currency="USDT", chain_id="mars")
    assert (e.value.code, e.value.status_code, e.value.field) == ("INVALID_CHAIN", 400, "chainId")
    assert "mars" in e.value.message and str(e.value) == e.value.message
    with pytest.raises(payin.ValidationError) as too_precise:
        client.orders.create(order_reference=ref(), amount="1.0000001", currency="USDT", chain_id="local")
    assert (too_precise.value.code, too_precise.value.field) == ("INVALID_AMOUNT", "amount")
    with pytest.raises(payin.ValidationError) as listing:
        client.orders.list(status="lost")
    assert listing.value.field == "status"
    with pytest.raises(payin.ValidationError) as wrong_type:
        client.orders.create(order_reference=ref(), amount="1", currency="USDT", chain_id="local", grace_minutes="soon")
    assert wrong_type.value.field == "graceMinutes", "a wrong type is refused before sending, naming the field"


def test_authentication_error(gateway):
    with pytest.raises(payin.AuthenticationError) as e:
        payin.Client(api_key="pk_not_a_key", base_url=gateway.base_url).orders.get("ord_x")
    assert (e.value.code, e.value.status_code) == ("UNAUTHORIZED", 401)


def test_not_found_errors(client):
    with pytest.raises(payin.NotFoundError) as order:
        client.orders.get("ord_doesnotexist")
    assert (order.value.code, order.value.status_code) == ("ORDER_NOT_FOUND", 404)
    assert order.value.details == {"orderId": "ord_doesnotexist"}
    with pytest.raises(payin.NotFoundError) as reference:
        client.deposits.get_reference("nobody-here")
    assert reference.value.code == "DEPOSIT_REFERENCE_NOT_FOUND"
    with pytest.raises(payin.NotFoundError) as event:
        client.events.get("evt_doesnotexist")
    assert event.value.code == "NOT_FOUND"


def test_conflict_error_carries_the_existing_order(client, ref):
    first = client.orders.create(order_reference=ref(), amount="1", currency="USDT", chain_id="local")
    with pytest.raises(payin.ConflictError) as e:
        client.orders.create(order_reference=first.order_reference, amount="2", currency="USDT", chain_id="local")
    assert (e.value.code, e.value.status_code) == ("DUPLICATE_ORDER_REFERENCE", 409)
    assert e.value.existing_order_id == first.order_id
    reference = ref("dup")
    client.deposits.bind(deposit_reference=reference, chain_id="local", currency="USDT")
    with pytest.raises(payin.ConflictError) as deposit:
        client.deposits.bind(deposit_reference=reference, chain_id="local", currency="USDT")
    assert deposit.value.code == "DUPLICATE_DEPOSIT_REFERENCE" and deposit.value.existing_order_id is None


def test_service_unavailable_when_the_pool_is_empty_heals_after_an_import(empty_gateway, ref):
    client = payin.Client(api_key=empty_gateway.api_key, base_url=empty_gateway.base_url, max_retries=0)
    with pytest.raises(payin.ServiceUnavailableError) as e:
        client.orders.create(order_reference=ref(), amount="10.00", currency="USDT", chain_id="ethereum-sepolia")
    assert (e.value.code, e.value.status_code) == ("NO_AVAILABLE_ADDRESSES", 503)
    assert e.value.details == {"protocol": "evm"}

    address = new_evm_address()
    assert client.pool.import_addresses(protocol="evm", addresses=[address]).imported == 1
    order = client.orders.create(order_reference=ref(), amount="10.00", currency="USDT", chain_id="ethereum-sepolia")
    assert order.address.lower() == address and order.status == "pending"


def test_rate_limit_error_after_the_retries_honour_retry_after():
    limited = ScriptedServer(
        429, envelope(429, "RATE_LIMITED", "Too many requests; retry in 0 s"), [("Retry-After", "0")]
    )
    try:
        client = payin.Client(api_key="pk_x", base_url=limited.url, max_retries=2)
        with pytest.raises(payin.RateLimitError) as e:
            client.orders.get("ord_x")
        assert (e.value.code, e.value.status_code) == ("RATE_LIMITED", 429)
        assert limited.requests == 3, "the first attempt and two retries"
    finally:
        limited.close()


def test_internal_server_error_after_the_retries():
    broken = ScriptedServer(502, b"<html>Bad Gateway</html>", [("Content-Type", "text/html")])
    try:
        client = payin.Client(api_key="pk_x", base_url=broken.url, max_retries=1)
        with pytest.raises(payin.InternalServerError) as e:
            client.chains.list()
        # The load balancer's own status, not a made-up 500.
        assert e.value.code == "HTTP_ERROR" and e.value.status_code == 502
        assert "502" in e.value.message and "Bad Gateway" in e.value.message
        assert broken.requests == 2
    finally:
        broken.close()


def test_other_client_errors_are_not_retried():
    missing = ScriptedServer(404, envelope(404, "ORDER_NOT_FOUND", "Order 'ord_x' not found", orderId="ord_x"))
    try:
        client = payin.Client(api_key="pk_x", base_url=missing.url, max_retries=5)
        with pytest.raises(payin.NotFoundError):
            client.orders.get("ord_x")
        assert missing.requests == 1
    finally:
        missing.close()


def test_connection_and_timeout_errors():
    # Port 9 (discard) on loopback: nothing listens.
    refused = payin.Client(api_key="pk_x", base_url="http://127.0.0.1:9", max_retries=0)
    with pytest.raises(payin.APIConnectionError) as e:
        refused.orders.get("ord_x")
    assert not isinstance(e.value, payin.APITimeoutError)
    assert (e.value.code, e.value.status_code) == ("CONNECTION_ERROR", None)

    hung = SilentServer()
    try:
        slow = payin.Client(api_key="pk_x", base_url=hung.url, timeout=0.5, max_retries=1)
        with pytest.raises(payin.APITimeoutError) as t:
            slow.orders.get("ord_x")
        assert isinstance(t.value, payin.APIConnectionError), "a timeout is a kind of connection error"
        assert (t.value.code, t.value.status_code) == ("TIMEOUT", None)
        wait_for(lambda: len(hung.held) == 2, timeout=5, what="the retried attempt's connection")
        # Per call options win over the client's.
        with pytest.raises(payin.APITimeoutError):
            payin.Client(api_key="pk_x", base_url=hung.url, timeout=60, max_retries=0).orders.get(
                "ord_x", timeout=0.3
            )
    finally:
        hung.close()


def test_permission_denied_from_a_403_with_or_without_an_envelope():
    # The gateway itself answers no 403 today; a proxy in front of it (a WAF's page) or a newer
    # gateway's envelope does, and either becomes a PermissionDeniedError keeping what was sent.
    page = ScriptedServer(403, b"<html>Forbidden by policy</html>", [("Content-Type", "text/html")])
    newer = ScriptedServer(403, envelope(403, "FORBIDDEN", "This key may not create orders"))
    try:
        for server, code, text in [(page, "HTTP_ERROR", "Forbidden by policy"), (newer, "FORBIDDEN", "may not create")]:
            client = payin.Client(api_key="pk_x", base_url=server.url, max_retries=3)
            with pytest.raises(payin.PermissionDeniedError) as e:
                client.orders.get("ord_x")
            assert (e.value.code, e.value.status_code) == (code, 403)
            assert text in e.value.message
            assert server.requests == 1, "a 403 is not retried"
    finally:
        page.close()
        newer.close()


def test_every_kind_is_a_payin_error_and_survives_pickling():
    kinds = [
        payin.ValidationError,
        payin.AuthenticationError,
        payin.PermissionDeniedError,
        payin.NotFoundError,
        payin.ConflictError,
        payin.RateLimitError,
        payin.InternalServerError,
        payin.ServiceUnavailableError,
        payin.APIConnectionError,
        payin.APITimeoutError,
        payin.WebhookVerificationError,
    ]
    for kind in kinds:
        assert issubclass(kind, payin.PayInError)
    e = payin.ConflictError("dup", code="DUPLICATE_ORDER_REFERENCE", status_code=409, details={"existingOrderId": "ord_1"})
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is payin.ConflictError and back.existing_order_id == "ord_1" and back.status_code == 409
    w = pickle.loads(pickle.dumps(payin.WebhookVerificationError("old", reason="too_old")))
    assert w.reason == "too_old"
