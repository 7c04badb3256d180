import type { Camera, CameraLink, Command, CommandResult, Protocol, PtzDirection } from '../hub/camera.js';
import { CommandError } from '../hub/controls.js';
import { type Frame, SlicedFrame } from '../hub/frame.js';
import type { CameraHub } from '../hub/hub.js';
import type { Logger } from '../logging.js';
import { HttpAuth } from '../sources/http/http-auth.js';
import { MjpegStream } from '../sources/http/mjpeg-pull.js';
import { markRelayed } from './gate.js';

/** An instance of the cluster, as the registry tells it. */
export interface Peer {
  instance: string;
  /** Its cluster.internal_url, without a trailing slash. */
  url: string;
}

/** How this instance proves itself to the others: the bridge's own http.auth (the same on every instance). */
export interface PeerAuth {
  /** http.auth.token: sent as `Authorization: Bearer` (and `?token=` on the stream). */
  token?: string | undefined;
  /** http.auth.username/password: HTTP Basic. */
  username?: string | undefined;
  password?: string | undefined;
}

export interface RelayOptions {
  hub: CameraHub;
  log: Logger;
  auth: PeerAuth;
  maxFrameBytes: number;
  readTimeoutMs: number;
}

/** Headers for a request to a peer. */
export function peerHeaders(auth: PeerAuth): Record<string, string> {
  if (auth.token) return { Authorization: `Bearer ${auth.token}` };
  if (auth.username !== undefined)
    return { Authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password ?? ''}`).toString('base64')}` };
  return {};
}

/**
 * A camera owned by another instance, as this instance's hub sees it: the hub's link to it.
 * Frames come from ONE MJPEG upstream to the owner (its /api/cameras/<id>/stream.mjpeg), open only
 * while somebody here watches; every local viewer hangs off the hub's camera as for a local camera,
 * so latest-frame-wins and the slow-viewer rules are the local ones, end to end. Commands, snapshots
 * and moves are forwarded to the owner's /api/cluster routes and answered as the owner answered.
 */
export class RemoteLink implements CameraLink {
  readonly remote: string;
  private readonly stream: MjpegStream;
  private seq = 0;
  private closed = false;

  constructor(
    private readonly cam: Camera,
    readonly protocol: Protocol,
    readonly peer: Peer,
    private readonly opts: RelayOptions,
  ) {
    markRelayed(this);
    this.remote = `instance ${peer.instance} (${peer.url})`;
    const url = new URL(`${peer.url}/api/cameras/${encodeURIComponent(cam.id)}/stream.mjpeg`);
    // The token rides in the query (the guard takes ?token=; logs mask it); Basic goes through HttpAuth.
    if (opts.auth.token) url.searchParams.set('token', opts.auth.token);
    const auth =
      !opts.auth.token && opts.auth.username !== undefined
        ? new HttpAuth({ username: opts.auth.username, password: opts.auth.password ?? '', type: 'basic' })
        : undefined;
    this.stream = new MjpegStream({
      url,
      auth,
      maxFrameBytes: opts.maxFrameBytes,
      readTimeoutMs: opts.readTimeoutMs,
      backoff: { minMs: 250, maxMs: 5000 },
      log: opts.log,
      onDown: () => {},
      onFrame: (jpeg, headers) => this.frame(jpeg, headers),
    });
  }

  /** Same JPEG bytes as on the owner, with its sequence number and camera time where it sent them. */
  private frame(jpeg: Buffer | Buffer[], headers: Record<string, string>): void {
    if (this.closed || this.cam.link !== this) return;
    const now = Date.now();
    const seq = Number(headers['x-frame-seq']) || ++this.seq;
    const t = Number(headers['x-frame-time']) || now;
    const frame: Frame = Buffer.isBuffer(jpeg)
      ? { data: jpeg, seq, cameraTime: t, receivedAt: now }
      : new SlicedFrame(jpeg, seq, t, now);
    this.opts.hub.pushFrame(this.cam, frame);
  }

  setDemand(watching: boolean): void {
    if (this.closed) return;
    if (watching) this.stream.start();
    else this.stream.stop();
  }

  close(_code: number, _reason: string): void {
    this.closed = true;
    this.stream.stop();
  }

  get streaming(): boolean {
    return this.stream.connected;
  }

  async send(cmd: Command, timeoutMs: number): Promise<CommandResult> {
    const body = await this.call('command', { command: cmd, timeout_ms: timeoutMs }, timeoutMs);
    return (await body.json()) as CommandResult;
  }

  async snapshot(timeoutMs: number): Promise<Frame> {
    const res = await this.call('snapshot', { timeout_ms: timeoutMs }, timeoutMs);
    const data = Buffer.from(await res.arrayBuffer());
    const now = Date.now();
    return {
      data,
      seq: Number(res.headers.get('x-frame-seq')) || ++this.seq,
      cameraTime: Number(res.headers.get('x-frame-time')) || now,
      receivedAt: now,
    };
  }

  async move(direction: PtzDirection, step: number | undefined, timeoutMs: number): Promise<CommandResult> {
    const res = await this.call('move', { direction, step, timeout_ms: timeoutMs }, timeoutMs);
    return (await res.json()) as CommandResult;
  }

  /** POST to the owner's /api/cluster/cameras/<id>/<what>; its CommandError comes back as one. */
  private async call(what: string, body: unknown, timeoutMs: number): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.peer.url}/api/cluster/cameras/${encodeURIComponent(this.cam.id)}/${what}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...peerHeaders(this.opts.auth) },
        body: JSON.stringify(body),
        // The owner's own timeout first, then the way there and back.
        signal: AbortSignal.timeout(timeoutMs + 2000),
      });
    } catch (err) {
      throw new CommandError(
        'offline',
        `camera ${this.cam.id}: its instance ${this.peer.instance} did not answer (${(err as Error).message})`,
      );
    }
    if (res.ok) return res;
    let code = 'offline';
    let message = `camera ${this.cam.id}: instance ${this.peer.instance} answered HTTP ${res.status}`;
    try {
      const j = (await res.json()) as { code?: string; error?: string };
      if (j.code) code = j.code;
      if (j.error) message = j.error;
    } catch {}
    throw new CommandError(code as ConstructorParameters<typeof CommandError>[0], message);
  }
}
