import { type Handler, refuse } from './context.js';

const MAX_WATCHED = 4096;

/** {t: 'watch', ids: [...]}: the cameras whose tiles are on screen; frames flow for these only. */
export const watch: Handler = (ctx, client, msg) => {
  const ids = msg.ids;
  if (!Array.isArray(ids) || ids.length > MAX_WATCHED || !ids.every((i) => typeof i === 'string')) {
    return refuse(client, 'watch: expected ids: ["camera id", ...]');
  }
  const want = new Set(ids as string[]);
  for (const id of [...client.flow.tiles.keys()]) if (!want.has(id)) ctx.streams.unwatch(client, id);
  const unknown: string[] = [];
  for (const id of want) {
    const cam = ctx.hub.get(id);
    if (!cam) {
      unknown.push(id);
      continue;
    }
    if (client.flow.tiles.has(id)) continue;
    ctx.streams.watch(client, cam, ctx.projection.indexOf(cam));
  }
  if (unknown.length)
    refuse(client, `watch: unknown camera${unknown.length > 1 ? 's' : ''} ${unknown.slice(0, 5).join(', ')}`);
};
