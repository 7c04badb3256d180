import type { Handler } from './context.js';

/** {t: 'ping', rid}: answered at once with the bridge's clock (the page's latency and clock offset). */
export const ping: Handler = (_ctx, client, msg) => {
  client.sendJson({ t: 'pong', rid: msg.rid ?? null, server_time: Date.now() });
};
