"""Webhook verification: the shared vectors (tests/vectors/webhooks.json, also read by the Rust
and Node tests), signing, the raw-body rule, and real deliveries from the gateway received by a
local endpoint and verified with the package."""

import json
import os
import time

import pytest

import payin

VECTORS = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "vectors", "webhooks.json")


def vectors(kind):
    with open(VECTORS, encoding="utf-8") as f:
        return json.load(f)[kind]


@pytest.mark.parametrize("vector", vectors("standardWebhooks"), ids=lambda v: v["name"])
def test_standard_webhooks_vectors(vector):
    webhook = payin.Webhook(vector["secret"], tolerance=vector["tolerance"])
    for body in (vector["body"], vector["body"].encode("utf-8")):
        if vector["expect"] == "valid":
            event = webhook.verify(body, vector["headers"], now=vector["now"])
            assert isinstance(event, payin.Event)
            assert event.to_dict() == json.loads(vector["body"])
        else:
            with pytest.raises(payin.WebhookVerificationError) as e:
                webhook.verify(body, vector["headers"], now=vector["now"])
            assert e.value.reason == vector["expect"], e.value.message
    if vector.get("signature"):
        headers = webhook.sign(
            vector["body"],
            msg_id=vector["headers"]["webhook-id"],
            timestamp=int(vector["headers"]["webhook-timestamp"]),
        )
        assert headers["webhook-signature"] == vector["signature"]


@pytest.mark.parametrize("vector", vectors("payinSignature"), ids=lambda v: v["name"])
def test_payin_signature_vectors(vector):
    assert payin.verify_signature(vector["body"], vector["signature"], vector["secret"]) is vector["valid"]
    assert payin.verify_signature(vector["body"].encode("utf-8"), vector["signature"], vector["secret"]) is vector["valid"]


SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = '{"id":"evt_1","type":"order.completed","createdAt":"2025-01-20T10:30:00.000Z","data":{"orderId":"ord_1","amount":"10.00","amountReceived":"10.00"}}'


def test_signed_headers_verify_and_the_event_is_typed():
    webhook = payin.Webhook(SECRET)
    headers = webhook.sign(BODY)
    assert headers["webhook-id"] == "evt_1", "the message id defaults to the event's id"
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 5
    assert payin.verify_signature(BODY, headers["X-PayIn-Signature"], SECRET)
    event = webhook.verify(BODY, headers)
    assert (event.id, event.type) == ("evt_1", "order.completed")
    assert str(event.order.amount_received) == "10.00" and event.order.order_id == "ord_1"
    # Header names in any case, as pairs, with bytes values (as ASGI servers give them).
    shouted = [(k.upper(), v.encode()) for k, v in headers.items()]
    assert webhook.verify(BODY.encode(), shouted).id == "evt_1"
    assert webhook.verify(bytearray(BODY.encode()), {k.title(): v for k, v in headers.items()}).id == "evt_1"
    assert webhook.sign(b"not json")["webhook-id"].startswith("msg_")


def test_an_independent_standard_webhooks_verifier_accepts_our_signature():
    standardwebhooks = pytest.importorskip("standardwebhooks")
    headers = payin.Webhook(SECRET).sign(BODY)
    verified = standardwebhooks.Webhook(SECRET).verify(BODY, headers)
    assert verified["id"] == "evt_1"


def test_a_re_serialized_body_fails_with_a_message_asking_for_the_raw_body():
    webhook = payin.Webhook(SECRET)
    headers = webhook.sign(BODY)
    reserialized = json.dumps(json.loads(BODY))
    with pytest.raises(payin.WebhookVerificationError) as e:
        webhook.verify(reserialized, headers)
    assert e.value.reason == "mismatch" and "raw request body" in e.value.message
    assert not payin.verify_signature(reserialized, headers["X-PayIn-Signature"], SECRET)
    with pytest.raises(TypeError, match="raw request body"):
        webhook.verify(json.loads(BODY), headers)


def test_stale_and_future_timestamps_beyond_the_tolerance_are_refused():
    webhook = payin.Webhook(SECRET, tolerance=60)
    now = int(time.time())
    for offset, reason in ((-61, "too_old"), (61, "too_new")):
        headers = webhook.sign(BODY, timestamp=now + offset)
        with pytest.raises(payin.WebhookVerificationError) as e:
            webhook.verify(BODY, headers, now=now)
        assert e.value.reason == reason and "tolerance is 60 s" in e.value.message
    for offset in (-60, 60):
        assert webhook.verify(BODY, webhook.sign(BODY, timestamp=now + offset), now=now).id == "evt_1"


def test_any_of_several_signatures_verifies_as_during_a_rotation():
    old, new = payin.Webhook(SECRET), payin.Webhook("whsec_c2Vjb25kIHNlY3JldCBvZiAyNCBieXRlcw==")
    headers = new.sign(BODY)
    headers["webhook-signature"] += " " + old.sign(BODY, timestamp=int(headers["webhook-timestamp"]))["webhook-signature"]
    assert new.verify(BODY, headers).id == old.verify(BODY, headers).id == "evt_1"
    with pytest.raises(payin.WebhookVerificationError):
        payin.Webhook("whsec_b3RoZXIgc2VjcmV0").verify(BODY, headers)


def test_missing_headers_and_bad_secrets_are_reported():
    webhook = payin.Webhook(SECRET)
    with pytest.raises(payin.WebhookVerificationError) as e:
        webhook.verify(BODY, {})
    assert e.value.reason == "missing_header" and "webhook-signature" in e.value.message
    with pytest.raises(ValueError, match="whsec_"):
        payin.Webhook("whsec_!!")
    with pytest.raises(ValueError):
        payin.Webhook(SECRET, tolerance=-1)
    assert "MfKQ" not in repr(webhook)


def test_deliveries_from_the_gateway_verify_with_the_package(client, ref, receiver):
    endpoint = client.webhooks.create(url=receiver.url + "/payin", description="python receiver")
    try:
        order = client.orders.create(order_reference=ref("hook"), amount="4.20", currency="USDT", chain_id="local")
        body, headers = receiver.next_of("order.created")
        webhook = payin.Webhook(endpoint.secret)
        event = webhook.verify(body, headers)
        assert event.type == "order.created" and event.order == order
        signature = dict((k.lower(), v) for k, v in headers)["x-payin-signature"]
        assert payin.verify_signature(body, signature, endpoint.secret)
        assert not payin.verify_signature(body.replace(b"4.20", b"0.01"), signature, endpoint.secret)
        with pytest.raises(payin.WebhookVerificationError) as tampered:
            webhook.verify(body.replace(b"4.20", b"0.01"), headers)
        assert tampered.value.reason == "mismatch"
        with pytest.raises(payin.WebhookVerificationError) as replayed:
            webhook.verify(body, headers, now=int(time.time()) + 301)
        assert replayed.value.reason == "too_old"

        client.dev.simulate_payment(order_id=order.order_id)
        client.dev.mine_blocks(1)
        body, headers = receiver.next_of("order.completed")
        completed = webhook.verify(body, headers)
        assert completed.order.order_id == order.order_id and str(completed.order.amount_received) == "4.20"

        # During a rotation deliveries carry both secrets' signatures; either verifies.
        rotated = client.webhooks.rotate_secret(endpoint.id, keep_previous_hours=1)
        client.events.resend(completed.id, endpoint_id=endpoint.id)
        body, headers = receiver.next_of("order.completed")
        assert payin.Webhook(rotated.secret).verify(body, headers).id == completed.id
        assert webhook.verify(body, headers).id == completed.id
        assert len(dict((k.lower(), v) for k, v in headers)["webhook-signature"].split()) == 2
    finally:
        client.webhooks.delete(endpoint.id)
