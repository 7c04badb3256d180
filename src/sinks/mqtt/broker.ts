import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { HttpServer } from '../../http/server.js';
import type { Logger } from '../../logging.js';
import { guardPacketSize } from './packet-guard.js';
import type { Topics } from './topics.js';

export interface BrokerUser {
  username: string;
  password: string;
  admin: boolean;
}

export interface BrokerOptions {
  host: string;
  port: number;
  users: BrokerUser[];
  maxPacketBytes: number;
  topics: Topics;
  http: HttpServer;
  logger: Logger;
  /** WebSocket path on the HTTP port. */
  wsPath?: string;
}

// A subscriber that stops reading must not hold up the others. Aedes hands each message to all
// subscribers in parallel, but counts it as in flight until every subscriber's socket has taken it;
// with the default `concurrency` (100 messages in flight) one frozen client stalls delivery to
// everybody after 100 messages, until `drainTimeout` (60 s) drops it. So:
// - no in-flight cap (concurrency 0): cam2mqtt's own messages (published in-process) never wait;
// - a cap per client: one with more than QUEUE_BYTES or QUEUE_PACKETS waiting for its socket is
//   disconnected at once (it reconnects and gets the retained state again);
// - drainTimeout 5 s: a client whose socket has not drained for 5 s is disconnected. Until then,
//   Aedes does not read further messages from a client that published to it (per-publisher
//   back-pressure), so that is the longest another client's messages can be held up.
const CONCURRENCY = 0;
const DRAIN_TIMEOUT_MS = 5000;
const QUEUE_PACKETS = 4096;
const MIN_QUEUE_BYTES = 8 * 1024 * 1024;
const RETURN_BAD_CREDENTIALS = 4;
const RETURN_NOT_AUTHORIZED = 5;

interface ClientState {
  remote: string;
  user: BrokerUser | undefined;
  queued: number;
  waitingDrain: boolean;
  kicked: boolean;
}

function sha(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/**
 * The embedded Aedes broker: MQTT on TCP (mqtt.port) and MQTT over WebSocket on the HTTP port
 * (/mqtt), so Home Assistant can point at cam2mqtt and nothing else needs installing.
 */
export class EmbeddedBroker {
  aedes!: Aedes;
  private server: Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly sockets = new Set<Socket | Duplex>();
  private readonly state = new WeakMap<object, ClientState>();
  private readonly log: Logger;
  private readonly queueBytes: number;
  private refusedLogins = 0;
  private kicked = 0;

  constructor(private readonly opts: BrokerOptions) {
    this.log = opts.logger.child({ mod: 'broker' });
    this.queueBytes = Math.max(MIN_QUEUE_BYTES, 4 * opts.maxPacketBytes);
  }

  get port(): number {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  get clientCount(): number {
    return this.aedes?.connectedClients ?? 0;
  }

  get requiresAuth(): boolean {
    return this.opts.users.length > 0;
  }

  async start(): Promise<void> {
    this.aedes = new Aedes({
      concurrency: CONCURRENCY,
      drainTimeout: DRAIN_TIMEOUT_MS,
      // MQTT 3.1.1 servers must accept 23 characters and may accept more; some clients use longer ids.
      maxClientsIdLength: 128,
      authenticate: (client, username, password, done) => this.authenticate(client, username, password, done),
      authorizePublish: (client, packet, done) => {
        if (!client) return done(null);
        if (packet.topic.startsWith('$SYS/')) return done(new Error('$SYS/ topics are reserved'));
        const st = this.state.get(client.conn);
        if (this.requiresAuth && !st?.user?.admin && this.isProtected(packet.topic)) {
          this.log.warn(
            `MQTT user "${st?.user?.username ?? '?'}" (${st?.remote ?? client.id}) may not publish to ${packet.topic} (read-only user; set admin: true in mqtt.users); disconnected`,
          );
          return done(new Error(`not authorized to publish to ${packet.topic}`));
        }
        done(null);
      },
      authorizeSubscribe: (_client, sub, done) => done(null, sub),
      authorizeForward: (client, packet) => this.forward(client, packet),
    });
    emitInCounterOrder(this.aedes);
    await this.aedes.listen();
    this.aedes.on('clientError', (client, err) => {
      const st = this.state.get(client.conn);
      if (st?.kicked) return;
      if (err.message === 'drain timeout') {
        this.kicked++;
        this.log.warn(
          `MQTT client ${client.id} (${st?.remote ?? '?'}) is not reading (nothing taken for ${DRAIN_TIMEOUT_MS / 1000} s); disconnected so it cannot hold up the others`,
        );
        return;
      }
      this.log.debug(`MQTT client ${client.id ?? '?'} (${st?.remote ?? '?'}): ${err.message}`);
    });
    this.aedes.on('connectionError', (client, err) => {
      const st = this.state.get(client.conn);
      this.log.debug(`MQTT connection from ${st?.remote ?? '?'} failed: ${err.message}`);
    });
    this.aedes.on('client', (client) => {
      const st = this.state.get(client.conn);
      this.log.info(
        `MQTT client ${client.id} connected (${st?.remote ?? '?'}${st?.user ? `, user ${st.user.username}` : ''})`,
      );
    });
    this.aedes.on('clientDisconnect', (client) => {
      const st = this.state.get(client.conn);
      this.log.info(`MQTT client ${client.id} disconnected (${st?.remote ?? '?'})`);
    });

    this.server = createServer((socket) =>
      this.accept(socket, `${socket.remoteAddress?.replace(/^::ffff:/, '') ?? '?'}:${socket.remotePort ?? '?'}`),
    );
    try {
      await new Promise<void>((resolve, reject) => {
        this.server!.once('error', reject);
        this.server!.listen(this.opts.port, this.opts.host, () => {
          this.server!.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await new Promise<void>((r) => this.aedes.close(() => r()));
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EADDRINUSE')
        throw new Error(
          `mqtt.port ${this.opts.port} on ${this.opts.host} is already in use (another MQTT broker? set mqtt.port / CAM2MQTT_MQTT_PORT, or mqtt.server to use that broker)`,
        );
      throw new Error(`embedded MQTT broker cannot listen on ${this.opts.host}:${this.opts.port}: ${e.message}`);
    }
    this.server.on('error', (err) => this.log.error(`MQTT listener error: ${err.message}`));

    // MQTT over WebSocket on the HTTP port. With broker users the broker checks credentials itself,
    // so the page's http.auth must not stand in the way (HA's MQTT client cannot send it).
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.opts.maxPacketBytes + 16,
      perMessageDeflate: false,
    });
    const wsPath = this.opts.wsPath ?? '/mqtt';
    this.opts.http.upgrade(
      wsPath,
      (req, socket, head) => {
        this.wss!.handleUpgrade(req, socket, head, (ws) => {
          const remote = `${remoteOf(req)} (websocket)`;
          const stream = createWebSocketStream(ws);
          ws.on('error', (err) => {
            // ws refuses a message over maxPayload before the packet guard could see it.
            if ((err as { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH')
              this.log.warn(
                `MQTT client at ${remote} refused: WebSocket message larger than mqtt.max_packet_bytes (${this.opts.maxPacketBytes}); disconnected`,
              );
            stream.destroy();
          });
          this.accept(stream, remote, req);
        });
      },
      { public: this.requiresAuth },
    );

    const users = this.opts.users;
    this.log.info(
      `embedded MQTT broker listening on mqtt://${this.opts.host}:${this.port} and ws://<http host>${wsPath}` +
        (users.length ? ` (${users.length} user(s), anonymous clients refused)` : ''),
    );
    if (!users.length)
      this.log.warn(
        'embedded MQTT broker accepts anonymous clients with full access (set mqtt.users to require a login)',
      );
  }

  private accept(conn: Socket | Duplex, remote: string, req?: IncomingMessage): void {
    this.sockets.add(conn);
    conn.once('close', () => this.sockets.delete(conn));
    conn.on('error', () => {});
    this.state.set(conn, { remote, user: undefined, queued: 0, waitingDrain: false, kicked: false });
    this.aedes.handle(conn, req);
    guardPacketSize(conn, this.opts.maxPacketBytes, (_n, why) => {
      this.log.warn(`MQTT client at ${remote} refused: ${why}; disconnected`);
      const st = this.state.get(conn);
      if (st) st.kicked = true;
      conn.destroy();
    });
  }

  private authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (err: AuthenticateError | null, ok: boolean | null) => void,
  ): void {
    const st = this.state.get(client.conn);
    const users = this.opts.users;
    if (!users.length) return done(null, true);
    const refuse = (code: number, why: string) => {
      this.refusedLogins++;
      this.log.warn(`MQTT login refused for ${st?.remote ?? '?'} (client ${client.id}): ${why}`);
      const err = new Error(why) as AuthenticateError;
      err.returnCode = code as AuthenticateError['returnCode'];
      done(err, null);
    };
    if (username === undefined || username === '')
      return refuse(RETURN_NOT_AUTHORIZED, 'no username (anonymous clients are refused when mqtt.users is set)');
    const user = users.find((u) => u.username === username);
    // Compare digests so the time taken does not depend on where the passwords differ.
    const given = sha(password?.toString('utf8') ?? '');
    if (!user || !timingSafeEqual(given, sha(user.password)))
      return refuse(RETURN_BAD_CREDENTIALS, `wrong username or password (user "${username}")`);
    if (st) st.user = user;
    done(null, true);
  }

  /** Topics only cam2mqtt itself and admin users may publish to. */
  private isProtected(topic: string): boolean {
    const { base, prefix, haStatus } = this.opts.topics;
    if (topic === haStatus) return false;
    return topic === base || topic.startsWith(`${base}/`) || topic === prefix || topic.startsWith(`${prefix}/`);
  }

  private forward<P>(client: Client, packet: P): P | null {
    const conn = client.conn as Duplex;
    const st = this.state.get(conn);
    if (!st) return packet;
    if (st.kicked) return null;
    if (!conn.writableNeedDrain) {
      st.queued = 0;
      return packet;
    }
    st.queued++;
    if (!st.waitingDrain) {
      st.waitingDrain = true;
      conn.once('drain', () => {
        st.waitingDrain = false;
        st.queued = 0;
      });
    }
    if (conn.writableLength > this.queueBytes || st.queued > QUEUE_PACKETS) {
      st.kicked = true;
      this.kicked++;
      this.log.warn(
        `MQTT client ${client.id} (${st.remote}) is not reading (${conn.writableLength} bytes, ${st.queued} messages waiting); disconnected so it cannot hold up the others`,
      );
      conn.destroy();
      return null;
    }
    return packet;
  }

  status(): Record<string, unknown> {
    return {
      port: this.port,
      clients: this.clientCount,
      auth: this.requiresAuth,
      refused_logins: this.refusedLogins,
      slow_clients_disconnected: this.kicked,
    };
  }

  async stop(): Promise<void> {
    for (const ws of this.wss?.clients ?? []) ws.terminate();
    await new Promise<void>((resolve) => {
      if (!this.aedes) return resolve();
      this.aedes.close(() => resolve());
    });
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.wss?.close();
    if (this.server) {
      const server = this.server;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}

function remoteOf(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? '?';
  return `${a.startsWith('::ffff:') ? a.slice(7) : a}:${req.socket.remotePort ?? '?'}`;
}

interface Emitter {
  emit(packet: { brokerCounter?: number }, cb?: (err?: unknown) => void): unknown;
}

/**
 * Work around an Aedes bug (moscajs/aedes#484, #955, #994): a message's sequence number
 * (brokerCounter) is assigned when it is published, but retained and QoS 1/2 messages reach the
 * subscribers a few promise ticks later than plain QoS 0 ones; each client drops any message with a
 * lower number than the last it got ("dedupe", meant for overlapping subscriptions). So a retained
 * state published just before a plain message is silently lost for every wildcard subscriber.
 * Here every message waits until the end of the current event-loop turn (the memory persistence
 * finishes its work within the turn) and the turn's messages are delivered in sequence order.
 */
export function emitInCounterOrder(aedes: Aedes): void {
  const mq = (aedes as unknown as { mq: Emitter }).mq;
  const emit = mq.emit.bind(mq);
  let batch: { packet: { brokerCounter?: number }; cb: ((err?: unknown) => void) | undefined }[] = [];
  const flush = () => {
    const now = batch;
    batch = [];
    now.sort((a, b) => (a.packet.brokerCounter ?? 0) - (b.packet.brokerCounter ?? 0));
    for (const { packet, cb } of now) emit(packet, cb);
  };
  mq.emit = (packet, cb) => {
    if (batch.length === 0) setImmediate(flush);
    batch.push({ packet, cb });
    return mq;
  };
}
