import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Extension, ExtensionContext, ExtensionFactory } from '../extension.js';
import { guardEmitter } from '../http/last-resort.js';
import { refuseUpgrade, remoteOf } from '../http/upgrade.js';
import { type CameraHub, CLOSE } from '../hub/hub.js';
import type { Logger } from '../logging.js';
import { ThrottledLog } from '../util/throttle-log.js';
import type { PendingCounter, SourceContext, UpgradeSource } from './types.js';

/**
 * Largest text message before the hello (a hello is a few hundred bytes): what an unidentified client
 * may make the bridge parse. After the hello, limits.max_text_bytes applies.
 */
export const HELLO_MAX_BYTES = 4096;

/** A close frame's reason has room for 123 bytes (RFC 6455); ws throws on a longer one. */
export function closeReason(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason;
  let r = reason.slice(0, 120);
  while (Buffer.byteLength(r) > 120) r = r.slice(0, -1);
  return `${r}...`;
}

/**
 * What both WebSocket camera protocols share: the upgrade, the flood guard on connections that have
 * not said hello yet, the hello timeout, and closing every camera on shutdown. A protocol supplies
 * `accept`, which owns the socket from then on and calls `identified()` once the camera is known.
 */
export abstract class WsCameraServer implements UpgradeSource {
  protected readonly wss: WebSocketServer;
  protected readonly log: Logger;
  private readonly floodLog: ThrottledLog;
  private readonly sockets = new Set<WebSocket>();

  constructor(
    readonly path: string,
    protected readonly ctx: SourceContext,
    mod: string,
  ) {
    this.log = ctx.logger.child({ mod });
    this.floodLog = new ThrottledLog(this.log);
    // perMessageDeflate off: JPEGs do not compress and inflating costs CPU on the hot path.
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: ctx.config.limits.max_message_bytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const remote = remoteOf(req);
    const { pending } = this.ctx;
    if (pending.count >= pending.max) {
      this.floodLog.warn(
        `refusing camera connection from ${remote}: ${pending.count} connections are still waiting for their hello (limits.max_pending_connections = ${pending.max})`,
      );
      refuseUpgrade(socket, 503, 'too many pending camera connections, try again later');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      // A bug in a listener of this camera's socket drops this camera only (src/http/last-resort.ts).
      guardEmitter(ws, { what: `camera connection from ${remote}`, log: this.log, abort: () => ws.terminate() });
      pending.count++;
      let counted = true;
      const identified = () => {
        if (counted) {
          counted = false;
          pending.count--;
        }
      };
      this.sockets.add(ws);
      const helloMs = this.ctx.config.limits.hello_timeout * 1000;
      const timer = setTimeout(() => {
        if (!counted) return;
        this.log.warn(
          `camera connection from ${remote} sent no hello within ${this.ctx.config.limits.hello_timeout} s, closing it`,
        );
        ws.close(CLOSE.TIMEOUT, 'no hello received in time');
      }, helloMs);
      timer.unref();
      ws.on('close', () => {
        clearTimeout(timer);
        identified();
        this.sockets.delete(ws);
      });
      const receiver = (ws as unknown as { _receiver?: { _maxPayload?: unknown } })._receiver;
      const early = this.messageLimitBeforeHello;
      // ws has one payload limit per server; before the hello this protocol needs a smaller one, so an
      // unidentified client cannot make the bridge buffer megabytes (ws keeps it on its receiver; if a
      // later ws moves it, the size check after receipt in the protocol still refuses the message).
      const tightened = early !== undefined && typeof receiver?._maxPayload === 'number';
      if (tightened) receiver._maxPayload = early;
      ws.on('error', (err) => {
        // ws reports oversize messages here before closing with 1009.
        if (counted && tightened && (err as { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH')
          this.log.warn(
            `refused camera connection from ${remote}: hello larger than ${early} bytes (closed with 1009 before reading it)`,
          );
        else this.log.warn(`camera connection from ${remote}: ${err.message}`);
      });
      this.accept(ws, req, remote, () => {
        clearTimeout(timer);
        identified();
        if (tightened) receiver._maxPayload = this.ctx.config.limits.max_message_bytes;
      });
    });
  }

  /**
   * The largest WebSocket message before the hello, if the protocol allows nothing but a text hello
   * then (native); undefined = max_message_bytes (MJPEG2SD cameras send frames before their hello).
   */
  protected readonly messageLimitBeforeHello: number | undefined = undefined;

  protected abstract accept(ws: WebSocket, req: IncomingMessage, remote: string, identified: () => void): void;

  /** Called before the socket closes on shutdown, to say goodbye in the protocol's own words. */
  protected goodbye(_ws: WebSocket): void {}

  async close(): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const ws of this.sockets) {
      waits.push(
        new Promise((resolve) => {
          ws.once('close', () => resolve());
          this.goodbye(ws);
          ws.close(CLOSE.GOING_AWAY, 'bridge shutting down');
          setTimeout(() => {
            ws.terminate();
            resolve();
          }, 1000).unref();
        }),
      );
    }
    await Promise.all(waits);
    this.wss.close();
  }
}

/** One flood-guard counter per bridge, shared by all its WebSocket camera endpoints. */
const pendingByHub = new WeakMap<CameraHub, PendingCounter>();

/** The extension for a WebSocket camera protocol: its endpoint on the HTTP port, closed on stop. */
export function wsSourceExtension(name: string, make: (sctx: SourceContext) => UpgradeSource): ExtensionFactory {
  return (ctx: ExtensionContext): Extension => {
    let pending = pendingByHub.get(ctx.hub);
    if (!pending) pendingByHub.set(ctx.hub, (pending = { count: 0, max: ctx.config.limits.max_pending_connections }));
    const source = make({ hub: ctx.hub, logger: ctx.logger, config: ctx.config, pending });
    // Cameras authenticate with their own tokens, not the page's credentials.
    ctx.http.upgrade(source.path, (req, socket, head) => source.handleUpgrade(req, socket, head), { public: true });
    return { name, start() {}, stop: () => source.close() };
  };
}
