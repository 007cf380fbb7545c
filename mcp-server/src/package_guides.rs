//! The packages' code in the integration prompts: when the merchant's language has a PayIn
//! package, each guide ends with that package's code for its task, so the assistant writes
//! the few typed calls instead of hand-rolled HTTP and HMAC.

/// Which prompt a section is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guide {
    Checkout,
    DepositWallet,
    Webhooks,
}

/// The package section of `guide` for `language`, or `None` when the language has no package
/// (the guide's REST steps are then the whole answer).
pub(crate) fn for_language(language: &str, guide: Guide, api: &str) -> Option<String> {
    match language.trim().to_ascii_lowercase().as_str() {
        "typescript" | "javascript" | "ts" | "js" | "node" | "nodejs" | "node.js" => Some(node(guide, api)),
        _ => None,
    }
}

/// The `payin` npm package (bindings-node/).
fn node(guide: Guide, api: &str) -> String {
    let setup = format!(
        "Use the `payin` npm package rather than raw HTTP (it is bindings-node/ in the PayIn repository, Node 20+: \
         build it once with `cd bindings-node && npm install && npm run build`, then `npm install \
         <path-to-payin>/bindings-node` in the app). It retries network errors, 429 and 5xx with one \
         Idempotency-Key per call (a retried create returns the first order), returns the REST JSON with amounts \
         as decimal strings, walks lists with `for await`, and throws PayInError subclasses (ValidationError with \
         `field`, NotFoundError, ConflictError with `existingOrderId`, ServiceUnavailableError, APIConnectionError, \
         WebhookVerificationError). Configure it with PAYIN_API_KEY and PAYIN_BASE_URL={api} (the /api/v1 URL \
         works too)."
    );
    let code = match guide {
        Guide::Checkout => CHECKOUT,
        Guide::DepositWallet => DEPOSIT_WALLET,
        Guide::Webhooks => WEBHOOKS,
    };
    format!("{setup}\n\n```ts\n{code}```\n\n{WEBHOOK_ROUTE_NOTE}")
}

const WEBHOOK_ROUTE_NOTE: &str = "The webhook route must hand `webhook.verify` the raw body: with Express use \
     `express.raw({ type: 'application/json' })` on that route (not `express.json()`); with Next.js read \
     `await req.text()`; with Fastify add a content-type parser that keeps the Buffer.";

const CHECKOUT: &str = r#"import express from 'express';
import { ConflictError, PayIn, ServiceUnavailableError, ValidationError, Webhook, WebhookVerificationError } from 'payin';

const payin = new PayIn(); // PAYIN_API_KEY, PAYIN_BASE_URL
const webhook = new Webhook(process.env.PAYIN_WEBHOOK_SECRET!); // the endpoint's whsec_… secret
const app = express();

app.post('/checkout', express.json(), async (req, res) => {
  const cart = await loadCart(req.body.cartId);
  try {
    const order = await payin.orders.create(
      { orderReference: `cart-${cart.id}`, amount: cart.total /* "49.90" */, currency: 'USDT', chainId: 'local', metadata: { cartId: cart.id } },
      { idempotencyKey: `checkout-${cart.id}` }, // a retried checkout gets the first order back
    );
    res.status(201).json({ paymentUrl: order.paymentUrl, address: order.address, amount: order.amount, expiresAt: order.expiresAt });
  } catch (e) {
    if (e instanceof ConflictError && e.existingOrderId) return res.json(await payin.orders.get(e.existingOrderId));
    if (e instanceof ValidationError) return res.status(400).json({ field: e.field, message: e.message });
    if (e instanceof ServiceUnavailableError) return res.status(503).json({ message: 'try again shortly' }); // NO_AVAILABLE_ADDRESSES
    throw e;
  }
});

app.post('/webhooks/payin', express.raw({ type: 'application/json' }), async (req, res) => {
  let event;
  try {
    event = webhook.verify(req.body, req.headers); // Standard Webhooks, timestamp within 5 min
  } catch (e) {
    if (e instanceof WebhookVerificationError) return res.status(400).send(e.message);
    throw e;
  }
  if (await alreadyHandled(event.id)) return res.sendStatus(204); // retries and resends reuse the id
  if (event.type === 'order.completed') await markPaid(event.data.orderReference, event.data.amountReceived, event.data.txHash);
  if (event.type === 'order.expired') await releaseCart(event.data.orderReference);
  res.sendStatus(204);
});

// Fallback and reconciliation: every pending order, page after page.
for await (const order of payin.orders.list({ status: 'pending', sortOrder: 'asc' })) console.log(order.orderReference, order.expiresAt);
// On the dev chain: pay an order and mine its confirmations.
// await payin.dev.simulatePayment({ orderId: order.orderId, scenario: 'exact' }); await payin.dev.mineBlocks({ blocks: 3 });
"#;

const DEPOSIT_WALLET: &str = r#"import express from 'express';
import { ConflictError, PayIn, Webhook, WebhookVerificationError } from 'payin';

const payin = new PayIn(); // PAYIN_API_KEY, PAYIN_BASE_URL
const webhook = new Webhook(process.env.PAYIN_WEBHOOK_SECRET!);
const app = express();

// One permanent address per user, watched on every EVM chain for USDT, USDC and DAI.
async function depositAddress(userId: string): Promise<string> {
  try {
    return (await payin.deposits.bind({ depositReference: userId, protocol: 'evm' })).address;
  } catch (e) {
    if (!(e instanceof ConflictError)) throw e; // DUPLICATE_DEPOSIT_REFERENCE: already bound
    return (await payin.deposits.getReference(userId)).addresses[0].address;
  }
}

app.post('/webhooks/payin', express.raw({ type: 'application/json' }), async (req, res) => {
  let event;
  try {
    event = webhook.verify<{ depositId: string; depositReference: string; amount: string; currency: string }>(req.body, req.headers);
  } catch (e) {
    if (e instanceof WebhookVerificationError) return res.status(400).send(e.message);
    throw e;
  }
  if (event.type === 'deposit.confirmed') {
    // Exactly once per depositId (a unique constraint); the amount stays a decimal string.
    await creditOnce(event.data.depositId, event.data.depositReference, event.data.amount, event.data.currency);
  }
  res.sendStatus(204);
});

// Daily reconciliation: every confirmed deposit of a user, page after page.
for await (const deposit of payin.deposits.list({ depositReference: 'user-42', status: 'confirmed' })) console.log(deposit.depositId, deposit.amount);
// Closing an account: await payin.deposits.unbind('user-42');
// On the dev chain: await payin.dev.simulatePayment({ address, amount: '25.00', currency: 'USDT' }); await payin.dev.mineBlocks({ blocks: 3 });
"#;

const WEBHOOKS: &str = r#"import express from 'express';
import { PayIn, Webhook, WebhookVerificationError } from 'payin';

// Register once and store the secret (shown once):
//   const endpoint = await new PayIn().webhooks.create({ url: 'https://shop.example/webhooks/payin', events: ['order.completed', 'deposit.confirmed'] });
const webhook = new Webhook(process.env.PAYIN_WEBHOOK_SECRET!, { tolerance: 300 });
const app = express();

app.post('/webhooks/payin', express.raw({ type: 'application/json' }), async (req, res) => {
  let event;
  try {
    event = webhook.verify(req.body, req.headers); // any of several v1 signatures (secret rotation)
  } catch (e) {
    // e.code: SIGNATURE_MISMATCH (a re-serialized body, a wrong secret), TIMESTAMP_TOO_OLD / _NEW, MISSING_HEADER …
    if (e instanceof WebhookVerificationError) return res.status(400).send(e.message);
    throw e;
  }
  res.sendStatus(204); // answer within 15 s, then work
  if (await seen(event.id)) return; // webhook-id = event id: retries and resends repeat it
  await queue.push(event); // unknown types: ignore
});

// The seed scheme, if you verify it instead: verifySignature(rawBody, req.headers['x-payin-signature'], secret)
// Inspect and replay: for await (const d of new PayIn().webhooks.deliveries({ status: 'failed' })) …; payin.events.resend(eventId)
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typescript_and_javascript_get_the_node_package_and_other_languages_nothing() {
        for language in ["typescript", "JavaScript", " node ", "ts"] {
            for guide in [Guide::Checkout, Guide::DepositWallet, Guide::Webhooks] {
                let section = for_language(language, guide, "https://pay.shop.example").unwrap();
                assert!(section.contains("from 'payin'"), "{language} {guide:?}");
                assert!(
                    section.contains("webhook.verify") && section.contains("(req.body, req.headers)"),
                    "{guide:?}"
                );
                assert!(section.contains("PAYIN_BASE_URL=https://pay.shop.example"), "{guide:?}");
            }
        }
        assert!(for_language("go", Guide::Checkout, "x").is_none());
        assert!(
            for_language("typescript", Guide::Checkout, "x")
                .unwrap()
                .contains("payin.orders.create(")
        );
        assert!(
            for_language("js", Guide::DepositWallet, "x")
                .unwrap()
                .contains("payin.deposits.bind(")
        );
    }
}
