import { type Handler, refuse } from './context.js';

/** {t: 'ack', c: [idx, ...]}: frames drawn or skipped; each returns a credit of that tile. */
export const ack: Handler = (_ctx, client, msg) => {
  if (!Array.isArray(msg.c)) return refuse(client, 'ack: expected c: [camera index, ...]');
  client.flow.ack(msg.c);
};
