import type { Command } from '../../../../hub/controls.js';
import { parseQuery } from '../../commands.js';
import type { CommandResult } from '../../protocol.js';
import { failure, type Handler, noteFailure, refuse, reserve } from './context.js';

/**
 * {t: 'cmd', rid, id, text} or {t: 'cmd', rid, all: true, text}: the Remote query's text (raw, or
 * `/control value`) to one camera or to every online camera; one reply either way.
 */
export const cmd: Handler = async (ctx, client, msg) => {
  const { rid, text } = msg;
  if (typeof text !== 'string') return refuse(client, 'cmd: expected text: "command"', rid);
  let command: Command;
  try {
    command = parseQuery(text);
  } catch (err) {
    return client.sendJson({ t: 'reply', rid, ok: false, error: (err as Error).message, code: 'invalid' });
  }
  if (msg.all === true) {
    const targets = ctx.hub.list().filter((c) => c.online);
    if (!reserve(client, targets.length, rid)) return;
    ctx.log.info(`page ${client.remote}: "${text}" to all ${targets.length} online cameras`);
    const results = await Promise.all(
      targets.map(async (cam): Promise<CommandResult> => {
        try {
          const r = await ctx.hub.command(cam.id, command);
          return { id: cam.id, ok: true, answer: r.answer ?? null };
        } catch (err) {
          noteFailure(ctx, cam, text, err);
          return { id: cam.id, ...failure(err) };
        } finally {
          client.commandsInFlight--;
        }
      }),
    );
    client.sendJson({ t: 'reply', rid, ok: results.every((r) => r.ok), results });
    return;
  }
  const id = msg.id;
  const cam = typeof id === 'string' ? ctx.hub.get(id) : undefined;
  if (!cam) return refuse(client, `cmd: unknown camera ${JSON.stringify(id)}`, rid);
  if (!reserve(client, 1, rid)) return;
  ctx.log.debug(`page ${client.remote}: "${text}" to ${cam.id}`);
  try {
    const r = await ctx.hub.command(cam.id, command);
    client.sendJson({ t: 'reply', rid, ok: true, answer: r.answer ?? null });
  } catch (err) {
    noteFailure(ctx, cam, text, err);
    client.sendJson({ t: 'reply', rid, ...failure(err) });
  } finally {
    client.commandsInFlight--;
  }
};
