#!/usr/bin/env python3
"""Writes tests/vectors/webhooks.json: webhook signature vectors for both schemes PayIn sends,
read by the Rust tests (http-api/client/tests/vectors.rs) and by the Python and Node packages.

Every Standard Webhooks signature here is made by the independent `standardwebhooks` package
(tests/requirements.txt), and every case is checked with its `Webhook.verify` at the case's
`now`; the `X-PayIn-Signature` values come from Python's own hmac/hashlib. Nothing is computed
with PayIn's code, so the Rust, Python and Node tests check PayIn against another
implementation. The output is deterministic: running this again rewrites the same file.

    python3 tests/vectors/generate.py            # rewrite the file
    python3 tests/vectors/generate.py --check    # fail if the committed file differs
"""

import base64
import copy
import hashlib
import hmac
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import standardwebhooks
from standardwebhooks import webhooks as sw

OUT = Path(__file__).with_name("webhooks.json")
TOLERANCE = 300

# The vector of the Standard Webhooks reference libraries' own tests.
REF_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
REF_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
REF_TS = 1614265330
REF_BODY = '{"test": 2432232314}'

# A secret shaped like PayIn's (whsec_ + base64 of 24 bytes), fixed so the file is stable.
SECRET = "whsec_" + base64.b64encode(bytes(range(1, 25))).decode()
OLD_SECRET = "whsec_" + base64.b64encode(bytes(range(101, 125))).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"another endpoint secret!").decode()
EVENT_ID = "evt_k3j5h7g9f1d2s4a6"
TS = 1737369000  # 2025-01-20T10:30:00Z

# Bodies exactly as PayIn stores and sends them: compact JSON, keys in the event's order.
ORDER_COMPLETED = (
    '{"id":"evt_k3j5h7g9f1d2s4a6","type":"order.completed","createdAt":"2025-01-20T10:30:00.000Z",'
    '"data":{"orderId":"ord_a1b2c3d4e5f6g7h8","orderReference":"inv-1001","status":"completed",'
    '"amount":"100.00","amountReceived":"100.00","currency":"USDT","chainId":"ethereum"}}'
)
UNICODE_BODY = (
    '{"id":"evt_u1n2i3c4o5d6e7x8","type":"deposit.confirmed","createdAt":"2025-01-20T10:30:00.000Z",'
    '"data":{"depositReference":"用户-42","amount":"5.5","metadata":{"note":"café ✓"}}}'
)


def standard_sign(secret: str, msg_id: str, ts: int, body: str) -> str:
    return standardwebhooks.Webhook(secret).sign(msg_id, datetime.fromtimestamp(ts, tz=timezone.utc), body)


def payin_sign(secret: str, body: str) -> str:
    return hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()


def reserialized(body: str) -> str:
    """What a framework hands over after parsing: other whitespace, keys sorted."""
    return json.dumps(json.loads(body), indent=2, sort_keys=True, ensure_ascii=False)


class FrozenClock(datetime):
    now_ts = 0

    @classmethod
    def now(cls, tz=None):
        return datetime.fromtimestamp(cls.now_ts, tz=tz)


def standardwebhooks_accepts(case: dict) -> bool:
    """The independent verifier's verdict at the case's `now` (its tolerance is 5 minutes)."""
    FrozenClock.now_ts = case["now"]
    real = sw.datetime
    sw.datetime = FrozenClock
    try:
        standardwebhooks.Webhook(case["secret"]).verify(case["body"].encode(), case["headers"])
        return True
    except (sw.WebhookVerificationError, ValueError):  # ValueError: malformed base64
        return False
    finally:
        sw.datetime = real


def headers(msg_id: str, ts, signature: str) -> dict:
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature}


def standard_cases() -> list:
    sig = standard_sign(SECRET, EVENT_ID, TS, ORDER_COMPLETED)
    old_sig = standard_sign(OLD_SECRET, EVENT_ID, TS, ORDER_COMPLETED)
    base = {
        "secret": SECRET,
        "body": ORDER_COMPLETED,
        "headers": headers(EVENT_ID, TS, sig),
        "now": TS,
        "tolerance": TOLERANCE,
        "expect": "valid",
    }

    def case(name, **changes):
        c = {"name": name, **copy.deepcopy(base)}
        for k, v in changes.items():
            if k == "headers":
                c["headers"].update(v)
            else:
                c[k] = v
        return c

    ref_sig = standard_sign(REF_SECRET, REF_ID, REF_TS, REF_BODY)
    assert ref_sig == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", ref_sig
    uni_sig = standard_sign(SECRET, "evt_u1n2i3c4o5d6e7x8", TS, UNICODE_BODY)
    missing_id = case("missing webhook-id header", expect="missing_header")
    del missing_id["headers"]["webhook-id"]
    cases = [
        {
            "name": "the Standard Webhooks reference vector",
            "secret": REF_SECRET,
            "body": REF_BODY,
            "headers": headers(REF_ID, REF_TS, ref_sig),
            "now": REF_TS,
            "tolerance": TOLERANCE,
            "expect": "valid",
        },
        case("a PayIn order.completed delivery"),
        case(
            "a UTF-8 body (signed as its bytes)",
            body=UNICODE_BODY,
            headers=headers("evt_u1n2i3c4o5d6e7x8", TS, uni_sig)
        ),
        case("the secret without its whsec_ prefix", secret=SECRET.removeprefix("whsec_")),
        case(
            "rotation: signed with the old and new secrets, verified with the new",
            headers={"webhook-signature": f"{old_sig} {sig}"}
        ),
        case(
            "rotation: signed with the old and new secrets, verified with the old",
            secret=OLD_SECRET,
            headers={"webhook-signature": f"{sig} {old_sig}"}
        ),
        case("an unknown version before a v1 signature is skipped", headers={"webhook-signature": f"v2,Zm9vYmFy {sig}"}),
        case("received 300 s later: at the tolerance", now=TS + 300),
        case("stamped 300 s ahead: at the tolerance", now=TS - 300),
        case("received 301 s later: too old", now=TS + 301, expect="too_old"),
        case("stamped 301 s ahead: too new", now=TS - 301, expect="too_new"),
        case("tampered body (amount changed)", body=ORDER_COMPLETED.replace('"100.00","amountReceived"', '"1000.00","amountReceived"'), expect="mismatch"),
        case("body parsed and re-serialized", body=reserialized(ORDER_COMPLETED), expect="mismatch"),
        case("another endpoint's secret", secret=OTHER_SECRET, expect="mismatch"),
        case("webhook-timestamp changed after signing", headers={"webhook-timestamp": str(TS + 1)}, now=TS + 1, expect="mismatch"),
        case("webhook-id changed after signing", headers={"webhook-id": "evt_someotherevent0"}, expect="mismatch"),
        case("a signature that is not base64", headers={"webhook-signature": "v1,not-base64!!"}, expect="mismatch"),
        case("the old secret's signature alone, verified with the new", headers={"webhook-signature": old_sig}, expect="mismatch"),
        missing_id,
    ]
    for c in cases:
        if c["expect"] not in ("valid", "mismatch", "too_old", "too_new", "missing_header"):
            raise SystemExit(f"unknown expectation in {c['name']}")
        # What signing (secret, webhook-id, webhook-timestamp, body) makes, per standardwebhooks.
        h = c["headers"]
        c["signature"] = (
            standard_sign(c["secret"], h["webhook-id"], int(h["webhook-timestamp"]), c["body"])
            if "webhook-id" in h
            else None
        )
        verdict = standardwebhooks_accepts(c)
        if verdict != (c["expect"] == "valid"):
            raise SystemExit(f"standardwebhooks disagrees on {c['name']!r}: accepts={verdict}")
    return cases


def payin_cases() -> list:
    sig = payin_sign(SECRET, ORDER_COMPLETED)
    return [
        {"name": "a PayIn order.completed delivery", "secret": SECRET, "body": ORDER_COMPLETED, "signature": sig, "valid": True},
        {"name": "a UTF-8 body", "secret": SECRET, "body": UNICODE_BODY, "signature": payin_sign(SECRET, UNICODE_BODY), "valid": True},
        {"name": "uppercase hex", "secret": SECRET, "body": ORDER_COMPLETED, "signature": sig.upper(), "valid": True},
        {"name": "the reference secret and body", "secret": REF_SECRET, "body": REF_BODY, "signature": payin_sign(REF_SECRET, REF_BODY), "valid": True},
        {"name": "tampered body", "secret": SECRET, "body": ORDER_COMPLETED.replace("inv-1001", "inv-1002"), "signature": sig, "valid": False},
        {"name": "body parsed and re-serialized", "secret": SECRET, "body": reserialized(ORDER_COMPLETED), "signature": sig, "valid": False},
        {
            "name": "keyed without the whsec_ prefix (the scheme keys with the whole secret string)",
            "secret": SECRET,
            "body": ORDER_COMPLETED,
            "signature": payin_sign(SECRET.removeprefix("whsec_"), ORDER_COMPLETED),
            "valid": False,
        },
        {"name": "another endpoint's secret", "secret": OTHER_SECRET, "body": ORDER_COMPLETED, "signature": sig, "valid": False},
        {"name": "empty signature", "secret": SECRET, "body": ORDER_COMPLETED, "signature": "", "valid": False},
        {"name": "not hex", "secret": SECRET, "body": ORDER_COMPLETED, "signature": "z" * 64, "valid": False},
    ]


def document() -> dict:
    return {
        "description": (
            "Webhook signature vectors for PayIn's two schemes. standardWebhooks: verify `body` (UTF-8) "
            "with `headers` and `secret` as if the clock read `now` (Unix seconds), allowing `tolerance` "
            "seconds either way; `expect` is valid, mismatch, too_old, too_new or missing_header; "
            "`signature`, when not null, is what signing (secret, webhook-id, webhook-timestamp, body) "
            "must produce. payinSignature: X-PayIn-Signature = hex HMAC-SHA256 keyed with the secret's "
            "UTF-8 bytes over the body; `valid` says whether `signature` verifies."
        ),
        "generator": f"tests/vectors/generate.py with standardwebhooks {standardwebhooks_version()}",
        "standardWebhooks": standard_cases(),
        "payinSignature": payin_cases(),
    }


def standardwebhooks_version() -> str:
    from importlib.metadata import version

    return version("standardwebhooks")


def main() -> None:
    text = json.dumps(document(), indent=2, ensure_ascii=False) + "\n"
    if "--check" in sys.argv:
        if OUT.read_text(encoding="utf-8") != text:
            raise SystemExit(f"{OUT} is stale: run python3 tests/vectors/generate.py")
        print(f"{OUT.name} is up to date")
        return
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
