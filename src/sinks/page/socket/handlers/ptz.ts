import { CommandError } from '../../../../hub/controls.js';
import { failure, type Handler, noteFailure, refuse, reserve } from './context.js';

/** {t: 'ptz', rid, id, direction, step?}: one relative servo step; the reply's answer is {pan, tilt}. */
export const ptz: Handler = async (ctx, client, msg) => {
  const rid = msg.rid;
  const id = typeof msg.id === 'string' ? msg.id : '';
  const cam = ctx.hub.get(id);
  if (!cam) return refuse(client, `ptz: unknown camera ${JSON.stringify(msg.id)}`, rid);
  if (!reserve(client, 1, rid)) return;
  try {
    const pos = await ctx.ptz.move(id, msg.direction, msg.step);
    client.sendJson({ t: 'reply', rid, ok: true, answer: pos });
  } catch (err) {
    if (err instanceof CommandError && err.code !== 'invalid')
      noteFailure(ctx, cam, `ptz ${String(msg.direction)}`, err);
    else if (!(err instanceof CommandError))
      ctx.log.error(`ptz for ${id} failed: ${(err as Error).stack ?? String(err)}`);
    client.sendJson({ t: 'reply', rid, ...failure(err) });
  } finally {
    client.commandsInFlight--;
  }
};
