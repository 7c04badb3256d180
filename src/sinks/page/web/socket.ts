// The page's one WebSocket (/api/ws): JSON both ways, binary frames from the bridge.
// Reconnects with jittered backoff; requests carry a rid and resolve with the matching reply.

import {
  type AllReply,
  type CmdMessage,
  type Failure,
  FRAME_HEADER_BYTES,
  type FrameHeader,
  type PageMessage,
  type PtzMessage,
  type PtzPosition,
  type Reply,
  readFrameHeader,
  type ServerMessage,
} from '../protocol.js';

export interface Frame extends FrameHeader {
  jpeg: Uint8Array;
}

/** Decode a binary frame message (layout in ../protocol.ts). */
export function decodeFrame(buf: ArrayBuffer): Frame {
  return { ...readFrameHeader(new DataView(buf)), jpeg: new Uint8Array(buf, FRAME_HEADER_BYTES) };
}

export type SocketState = 'connecting' | 'reconnecting' | 'open';

/** Events: 'message' (detail: ServerMessage), 'frame' (detail: ArrayBuffer), 'state' (detail: {state, code}). */
export interface PageSocketEvents {
  message: CustomEvent<ServerMessage>;
  frame: CustomEvent<ArrayBuffer>;
  state: CustomEvent<{ state: SocketState; code?: number }>;
}

type Waiter = { resolve: (r: unknown) => void; timer: ReturnType<typeof setTimeout> };
type Request<M> = Omit<M, 'rid'>;

export class PageSocket extends EventTarget {
  ws: WebSocket | null = null;
  state: SocketState = 'connecting';
  private attempt = 0;
  private nextRid = 1;
  private readonly waiting = new Map<unknown, Waiter>();
  private acks: number[] = [];
  private ackTimer: ReturnType<typeof setTimeout> | 0 = 0;
  everOpened = false;

  constructor(readonly url: string) {
    super();
  }

  on<K extends keyof PageSocketEvents>(type: K, fn: (e: PageSocketEvents[K]) => void): void {
    this.addEventListener(type, fn as EventListener);
  }

  connect(): void {
    const ws = new WebSocket(this.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.setState(this.attempt ? 'reconnecting' : 'connecting');
    ws.onopen = () => {
      this.attempt = 0;
      this.everOpened = true;
      this.setState('open');
    };
    ws.onmessage = (ev: MessageEvent<string | ArrayBuffer>) => {
      if (typeof ev.data === 'string') {
        let msg: ServerMessage;
        try {
          msg = JSON.parse(ev.data);
        } catch {
          return;
        }
        if (msg.t === 'reply' || (msg.t === 'error' && msg.rid !== undefined)) {
          const w = this.waiting.get(msg.rid);
          if (w) {
            this.waiting.delete(msg.rid);
            clearTimeout(w.timer);
            if (msg.t === 'error') w.resolve({ ok: false, error: msg.error, code: 'refused' } satisfies Failure);
            else w.resolve(msg);
            return;
          }
        }
        this.dispatchEvent(new CustomEvent('message', { detail: msg }));
      } else {
        this.dispatchEvent(new CustomEvent('frame', { detail: ev.data }));
      }
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      for (const w of this.waiting.values()) {
        clearTimeout(w.timer);
        w.resolve({ ok: false, error: 'connection to cam2mqtt lost', code: 'offline' } satisfies Failure);
      }
      this.waiting.clear();
      this.acks = [];
      this.setState('reconnecting', ev.code);
      this.attempt++;
      // 0.5 s doubling to 10 s, +-25 % so a restarted bridge is not hit by every page at once.
      const delay = Math.min(10_000, 500 * 2 ** Math.min(this.attempt - 1, 5)) * (0.75 + Math.random() * 0.5);
      setTimeout(() => this.checkAuthThenConnect(), delay);
    };
  }

  /** A refused upgrade looks like any lost connection; ask the REST API whether we are logged out. */
  async checkAuthThenConnect(): Promise<void> {
    if (this.attempt >= 2) {
      try {
        const r = await fetch('api/presets', { headers: { Accept: 'application/json' }, cache: 'no-store' });
        if (r.status === 401) {
          location.href = `login?next=${encodeURIComponent(location.pathname + location.hash)}`;
          return;
        }
      } catch {
        /* bridge still down: keep trying */
      }
    }
    this.connect();
  }

  setState(state: SocketState, code?: number): void {
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, code } }));
  }

  get open(): boolean {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  send(msg: PageMessage): void {
    if (this.open) this.ws!.send(JSON.stringify(msg));
  }

  /** Send and wait for {t: 'reply', rid}. Never rejects: failures resolve as {ok: false, error}. */
  request(msg: Request<CmdMessage> & { all: true }, timeoutMs?: number): Promise<AllReply | Failure>;
  request(msg: Request<CmdMessage>, timeoutMs?: number): Promise<Reply>;
  request(msg: Request<PtzMessage>, timeoutMs?: number): Promise<Reply<PtzPosition>>;
  request(msg: Request<CmdMessage> | Request<PtzMessage>, timeoutMs = 20_000): Promise<unknown> {
    if (!this.open)
      return Promise.resolve({ ok: false, error: 'not connected to cam2mqtt', code: 'offline' } satisfies Failure);
    const rid = this.nextRid++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(rid);
        resolve({ ok: false, error: 'no answer from cam2mqtt', code: 'timeout' } satisfies Failure);
      }, timeoutMs);
      this.waiting.set(rid, { resolve, timer });
      this.ws!.send(JSON.stringify({ ...msg, rid }));
    });
  }

  /** Tell the bridge a frame of tile `idx` is done with (drawn or skipped): it may send the next. */
  ack(idx: number): void {
    this.acks.push(idx);
    if (!this.ackTimer) {
      // Batch the acks of one task into one message.
      this.ackTimer = setTimeout(() => {
        this.ackTimer = 0;
        const c = this.acks;
        this.acks = [];
        if (c.length) this.send({ t: 'ack', c });
      }, 0);
    }
  }
}
