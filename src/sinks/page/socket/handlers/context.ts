import type { Camera } from '../../../../hub/camera.js';
import { CommandError } from '../../../../hub/controls.js';
import type { CameraHub } from '../../../../hub/hub.js';
import type { Logger } from '../../../../logging.js';
import type { PtzController } from '../../commands.js';
import type { Failure } from '../../protocol.js';
import type { PageClient } from '../client.js';
import type { PageProjection } from '../projection.js';
import type { FrameStreams } from '../streams.js';

/** What a message handler may use. */
export interface HandlerContext {
  readonly hub: CameraHub;
  readonly ptz: PtzController;
  readonly log: Logger;
  readonly projection: PageProjection;
  readonly streams: FrameStreams;
}

/**
 * Handles one message type. `msg` is the page's JSON object, not yet validated: the handler checks
 * the fields it reads and refuses what is wrong.
 */
export type Handler = (ctx: HandlerContext, client: PageClient, msg: Record<string, unknown>) => void | Promise<void>;

const MAX_COMMANDS_IN_FLIGHT = 32;

/** Refuse one bad message: one (throttled) log line and an error to that page only. */
export function refuse(client: PageClient, why: string, rid?: unknown): void {
  client.badLog.warn(`page ${client.remote}: refused a message: ${why}`);
  client.sendJson({ t: 'error', error: why, ...(rid !== undefined ? { rid } : {}) });
}

/** Bound the commands one page can have waiting on cameras; the caller gives them back when answered. */
export function reserve(client: PageClient, n: number, rid: unknown): boolean {
  if (client.commandsInFlight + n > MAX_COMMANDS_IN_FLIGHT) {
    refuse(client, `too many commands waiting for an answer (at most ${MAX_COMMANDS_IN_FLIGHT})`, rid);
    return false;
  }
  client.commandsInFlight += n;
  return true;
}

/** A failed command goes into the camera's log ('!'), so every page shows it and it survives reloads. */
export function noteFailure(ctx: HandlerContext, cam: Camera, text: string, err: unknown): void {
  if (!(err instanceof CommandError))
    ctx.log.error(`command "${text}" for ${cam.id} failed: ${(err as Error).stack ?? String(err)}`);
  ctx.hub.addLog(cam, '!', `${text}: ${(err as Error).message}`);
}

/** A command's failure as the page is told it. */
export function failure(err: unknown): Failure {
  return { ok: false, error: (err as Error).message, code: (err as CommandError).code ?? 'error' };
}
