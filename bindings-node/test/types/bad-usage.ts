// Mistakes the declarations must catch: each line below is a type error that types.test.mjs
// expects tsc to report (so the usage file's passing means something).

import { PayIn } from 'payin';

const payin = new PayIn();

export async function mistakes(): Promise<void> {
  await payin.orders.create({ orderReference: 'a', amount: 10, currency: 'USDT', chainId: 'local' }); // amount must be a string
  await payin.orders.create({ orderReference: 'a', amount: '10', currency: 'EUR', chainId: 'local' }); // no such currency
  await payin.orders.list({ stauts: 'pending' }); // misspelt filter
  const order = await payin.orders.get('ord_1');
  const n: number = order.amount; // an amount is not a number
  await payin.config.set('grace_minutes', 'five'); // a setting's type
  console.log(n);
}
