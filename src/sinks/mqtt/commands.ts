import type { Topics } from '../../formats/mqtt-topics.js';
import {
  type Command,
  CommandError,
  type CommandResult,
  parseCommand,
  parseCommandBody,
  STATEFUL_CONTROLS,
} from '../../hub/controls.js';
import type { CameraHub } from '../../hub/hub.js';
import type { Logger } from '../../logging.js';
import type { Publisher } from './state.js';

export interface Response {
  status: 'ok' | 'error';
  data: Record<string, unknown>;
  error?: string;
  transaction?: unknown;
}

/** Logs refusals one per line, but at most `burst` per 10 s (then one summary), so a flood cannot flood the log. */
class RefusalLog {
  private windowStart = 0;
  private count = 0;
  private suppressed = 0;
  constructor(
    private readonly log: Logger,
    private readonly burst = 20,
  ) {}
  warn(msg: string): void {
    const now = Date.now();
    if (now - this.windowStart > 10_000) {
      if (this.suppressed) this.log.warn(`${this.suppressed} more refused MQTT command(s) were not logged`);
      this.windowStart = now;
      this.count = 0;
      this.suppressed = 0;
    }
    if (++this.count <= this.burst) this.log.warn(msg);
    else this.suppressed++;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function text(payload: Buffer): string {
  return payload.toString('utf8').trim();
}

/**
 * Parse a payload meant to be JSON. Plain words (not starting like JSON) are returned as a string,
 * so `camera/remove` can take just the id; anything that looks like JSON must be valid JSON.
 */
function parseLoose(s: string): unknown {
  if (s === '') return {};
  if (/^[[{"]/.test(s)) {
    try {
      return JSON.parse(s);
    } catch {
      throw new CommandError(
        'invalid',
        `payload is not valid JSON: ${JSON.stringify(s.length > 60 ? `${s.slice(0, 57)}...` : s)}`,
      );
    }
  }
  return s;
}

/** The camera a bridge request names (`{"id": ...}` or the bare id); undefined if none or unparsable. */
export function requestCameraId(payload: Buffer): string | undefined {
  try {
    const p = parseLoose(text(payload));
    const id = isObject(p) ? p.id : p;
    return typeof id === 'string' && id !== '' ? id : undefined;
  } catch {
    return undefined;
  }
}

export interface CommandHooks {
  health(): Record<string, unknown>;
}

/**
 * `<base>/<id>/set/<control>` and `<base>/<id>/set` (JSON) go to the camera through the hub, after
 * validation (bad values are refused here and never reach a camera). `<base>/bridge/request/<path>`
 * is answered on `<base>/bridge/response/<path>` with {status, data, error, transaction}.
 */
export class CommandHandler {
  private readonly refusals: RefusalLog;
  stats = { commands: 0, refused: 0, requests: 0 };

  constructor(
    private readonly hub: CameraHub,
    private readonly pub: Publisher,
    private readonly topics: Topics,
    private readonly log: Logger,
    private readonly hooks: CommandHooks,
  ) {
    this.refusals = new RefusalLog(log);
  }

  /** A set command; resolves when the camera answered (or it was refused). */
  async handleSet(id: string, control: string | undefined, payload: Buffer): Promise<void> {
    const topic = this.topics.set(id, control);
    const raw = text(payload);
    let cmd: Command | undefined;
    let transaction: unknown;
    try {
      if (control === undefined) {
        const body = parseLoose(raw);
        if (!isObject(body))
          throw new CommandError('invalid', 'expected a JSON object such as {"lamp": "ON"} or {"command": "status?q"}');
        const { transaction: tr, ...rest } = body;
        transaction = tr;
        cmd = parseCommandBody(rest);
      } else {
        cmd = control.toLowerCase() === 'command' ? parseCommand('raw', raw) : parseCommand(control, payloadValue(raw));
      }
      const result = await this.run(id, cmd);
      this.log.debug(`${topic}: ${cmd.name}${cmd.value !== undefined ? ` = ${JSON.stringify(cmd.value)}` : ''} done`);
      this.respond(
        'camera/set',
        { status: 'ok', data: { id, control: cmd.name, value: cmd.value ?? null, answer: result.answer ?? null } },
        transaction,
      );
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.stats.refused++;
      const verb = cmd ? 'failed' : 'refused';
      this.refusals.warn(
        `MQTT ${topic} ${JSON.stringify(raw.length > 80 ? `${raw.slice(0, 77)}...` : raw)} ${verb}: ${message}`,
      );
      this.respond(
        'camera/set',
        {
          status: 'error',
          data: { id, control: cmd?.name ?? control ?? null, value: cmd?.value ?? null },
          error: message,
        },
        transaction,
      );
      if (!(err instanceof CommandError)) this.log.debug((err as Error).stack ?? message);
    }
  }

  /** Send a validated command and publish the resulting state. */
  private async run(id: string, cmd: Command): Promise<CommandResult> {
    const cam = this.hub.get(id);
    if (!cam) throw new CommandError('unknown_camera', `unknown camera "${id}"`);
    const before = cam.info[cmd.name];
    this.stats.commands++;
    const result = await this.hub.command(id, cmd);
    // The camera usually reports the new state itself (info / key=value); if it did not, publish the
    // acknowledged value.
    if (
      STATEFUL_CONTROLS.has(cmd.name) &&
      cmd.value !== undefined &&
      cam.info[cmd.name] === before &&
      before !== cmd.value
    ) {
      this.hub.updateInfo(cam, { [cmd.name]: cmd.value });
    }
    return result;
  }

  /** `own`: on this instance's own request topic in a cluster; answered on its own response topic. */
  async handleRequest(path: string, payload: Buffer, own = false): Promise<void> {
    this.stats.requests++;
    const raw = text(payload);
    let transaction: unknown;
    let response: Response;
    try {
      const parsed = parseLoose(raw);
      const body: Record<string, unknown> = isObject(parsed) ? parsed : { id: parsed };
      transaction = body.transaction;
      response = { status: 'ok', data: await this.request(path, body) };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.stats.refused++;
      this.refusals.warn(
        `MQTT request ${path} ${JSON.stringify(raw.length > 80 ? `${raw.slice(0, 77)}...` : raw)} failed: ${message}`,
      );
      response = { status: 'error', data: {}, error: message };
    }
    this.respond(path, response, transaction, own);
  }

  private respond(path: string, r: Response, transaction: unknown, own = false): void {
    const out: Response = { ...r };
    if (transaction !== undefined) out.transaction = transaction;
    const topic = own ? this.topics.ownResponse(path) : this.topics.response(path);
    this.pub.send(topic, JSON.stringify(out), { qos: 1 });
  }

  private camId(body: Record<string, unknown>): string {
    const id = body.id;
    if (typeof id !== 'string' || id === '') throw new CommandError('invalid', 'expected {"id": "<camera id>"}');
    if (!this.hub.get(id)) throw new CommandError('unknown_camera', `unknown camera "${id}"`);
    return id;
  }

  private async request(path: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    switch (path) {
      case 'camera/list':
      case 'cameras':
        return { cameras: this.hub.list().map((c) => c.toJSON()) };
      case 'camera/remove': {
        const id = this.camId(body);
        this.hub.remove(id);
        return { id };
      }
      case 'camera/rename': {
        const id = this.camId(body);
        const name = body.name;
        if (typeof name !== 'string' || name.trim() === '' || name.length > 64)
          throw new CommandError('invalid', 'expected {"id": "<camera id>", "name": "<1-64 characters>"}');
        this.hub.rename(id, name.trim());
        return { id, name: name.trim() };
      }
      case 'camera/snapshot': {
        const id = this.camId(body);
        const r = await this.hub.command(id, { name: 'snapshot' });
        return { id, ...(isObject(r.answer) ? r.answer : {}) };
      }
      case 'camera/command': {
        const id = this.camId(body);
        const { id: _id, transaction: _t, ...rest } = body;
        const cmd = typeof rest.control === 'string' ? parseCommand(rest.control, rest.value) : parseCommandBody(rest);
        const r = await this.run(id, cmd);
        return { id, command: cmd, answer: r.answer ?? null };
      }
      case 'health_check':
      case 'health':
        return this.hooks.health();
      default:
        throw new CommandError(
          'invalid',
          `unknown request "${path}" (expected camera/list, camera/remove, camera/rename, camera/snapshot, camera/command or health_check)`,
        );
    }
  }
}

/** A set/<control> payload: plain text ("ON", "VGA", "12"), or a JSON string/number/boolean. */
function payloadValue(raw: string): unknown {
  if (/^"(?:[^"\\]|\\.)*"$/.test(raw)) {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      return raw;
    }
  }
  return raw;
}
