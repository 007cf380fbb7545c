// A merchant's TypeScript, type-checked with `tsc --strict` against the package's generated
// declarations (dist/*.d.ts from the TypeScript layer, native/index.d.ts from napi-rs) by
// types.test.mjs. It is compiled, never run.

import { createServer } from 'node:http';

import {
  ConflictError,
  Page,
  PayIn,
  PayInError,
  ServiceUnavailableError,
  ValidationError,
  Webhook,
  WebhookVerificationError,
  verifySignature,
  type Amount,
  type ClientOptions,
  type Event,
  type Order,
  type OrderListParams,
  type RequestOptions,
} from 'payin';

const options: ClientOptions = { apiKey: 'pk_test', baseUrl: 'http://127.0.0.1:8080/api/v1', timeout: 10_000, maxRetries: 3 };
const payin = new PayIn(options);

export async function checkout(cartId: string, total: Amount): Promise<Order | null> {
  const request: RequestOptions = { idempotencyKey: `checkout-${cartId}` };
  try {
    const order = await payin.orders.create(
      { orderReference: cartId, amount: total, currency: 'USDT', chainId: 'polygon', metadata: { cartId } },
      request,
    );
    const amount: string = order.amount; // amounts are decimal strings
    const received: string = order.amountReceived;
    console.log(order.paymentUrl, amount, received, order.expiresAt.toUpperCase());
    return order;
  } catch (e) {
    if (e instanceof ConflictError && e.existingOrderId !== null) return payin.orders.get(e.existingOrderId);
    if (e instanceof ValidationError) console.error(e.field, e.code, e.statusCode);
    if (e instanceof ServiceUnavailableError && e.code === 'NO_AVAILABLE_ADDRESSES') return null;
    if (e instanceof PayInError) console.error(e.code);
    throw e;
  }
}

export async function reconcile(): Promise<number> {
  const filter: OrderListParams = { status: 'pending', sortOrder: 'asc', limit: 100 };
  let total = 0;
  for await (const order of payin.orders.list(filter)) {
    const status: 'pending' | 'completed' | 'expired' = order.status;
    if (status === 'pending') total += 1;
  }
  const page: Page<Order> = await payin.orders.list({ chainId: 'polygon' });
  const next: Page<Order> | null = await page.nextPage();
  const all: Order[] = await payin.orders.list().toArray();
  console.log(page.items.length, page.pagination.totalPages, next?.items.length, all.length);
  return total;
}

export async function everyNamespace(): Promise<void> {
  const byCurrency = await payin.deposits.bind({ depositReference: 'user-1', currency: 'USDC', chainId: 'base' });
  const byProtocol = await payin.deposits.bind({ depositReference: 'user-2', protocol: 'evm' });
  console.log(byCurrency.currency, byProtocol.monitoredChains);
  const reference = await payin.deposits.getReference('user-1');
  console.log(reference.totalAmount.USDC ?? '0', reference.addresses.map((a) => a.address));
  for await (const summary of payin.deposits.listReferences({ search: 'user' })) console.log(summary.addressCount);
  for await (const deposit of payin.deposits.list({ status: 'confirmed' })) console.log(deposit.amount);
  await payin.deposits.unbind('user-1', { chainId: 'base' });
  const chains = await payin.chains.list();
  console.log(chains.map((c) => c.tokens.map((t) => t.decimals)));
  const pools = await payin.pool.status();
  await payin.pool.importAddresses({ protocol: 'evm', addresses: ['0x0000000000000000000000000000000000000001'] });
  const settings = await payin.config.set('payment_window_minutes', 30);
  console.log(pools[0]?.available, settings.grace_minutes, (await payin.config.get()).pool_low_watermark);
  const endpoint = await payin.webhooks.create({ url: 'https://shop.example/webhooks', events: ['order.completed'] });
  const secret: string = endpoint.secret;
  await payin.webhooks.get(endpoint.id);
  await payin.webhooks.rotateSecret(endpoint.id, { keepPreviousHours: 2 });
  for await (const delivery of payin.webhooks.deliveries({ endpointId: endpoint.id, status: 'failed' })) console.log(delivery.lastError);
  for await (const e of payin.webhooks.list()) console.log(e.url);
  await payin.webhooks.delete(endpoint.id);
  for await (const event of payin.events.list({ type: 'order.completed' })) {
    await payin.events.resend(event.id);
    console.log((await payin.events.get(event.id)).createdAt, secret);
  }
  const paid = await payin.dev.simulatePayment({ orderId: 'ord_x', scenario: 'partial' });
  const mined = await payin.dev.mineBlocks({ blocks: 3 });
  console.log(paid.txHash, mined.blockNumber);
}

interface OrderCompleted {
  orderId: string;
  amountReceived: Amount;
}

const webhook = new Webhook(process.env.PAYIN_WEBHOOK_SECRET ?? '', { tolerance: 300 });
createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    try {
      const event: Event<OrderCompleted> = webhook.verify<OrderCompleted>(body, req.headers);
      const viaClient: Event = payin.webhooks.verify(body, req.headers, { secret: 'whsec_x' });
      const ok: boolean = verifySignature(body, String(req.headers['x-payin-signature']), 'whsec_x');
      console.log(event.data.amountReceived, viaClient.type, ok);
      res.writeHead(204).end();
    } catch (e) {
      if (e instanceof WebhookVerificationError) res.writeHead(400).end(e.code);
      else throw e;
    }
  });
});
