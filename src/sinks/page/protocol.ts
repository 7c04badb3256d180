// The page socket's protocol, written once for both ends: the bridge (src/sinks/page/) and the page
// (src/sinks/page/web/, bundled by esbuild). So it imports only hub/shapes.ts (types that import nothing) and
// uses neither Node nor DOM types: it is type-checked under both tsconfigs.
//
// The socket (/api/ws) carries JSON text messages both ways and binary frames from the bridge to the
// page. A binary message is a fixed 24-byte header followed by the camera's JPEG, untouched:
//
//   offset  size  field
//   0       u8    kind: 1 = frame
//   1       u8    flags (0, reserved)
//   2       u16   camera index (from the camera's `idx` in hello/cam messages), big endian
//   4       u32   frame seq, big endian
//   8       f64   camera time, Unix ms (the camera's clock), big endian
//   16      f64   bridge receive time, Unix ms, big endian
//   24      ...   JPEG bytes
import type { LogEntry, MotionRegion } from '../../hub/shapes.js';

export const PROTOCOL_VERSION = 1;
export const FRAME_KIND = 1;
export const FRAME_HEADER_BYTES = 24;

export interface FrameHeader {
  kind: number;
  idx: number;
  seq: number;
  cameraTime: number;
  receivedAt: number;
}

/** Write a frame header into the first FRAME_HEADER_BYTES of `view`. */
export function writeFrameHeader(view: DataView, h: Omit<FrameHeader, 'kind'>): void {
  view.setUint8(0, FRAME_KIND);
  view.setUint8(1, 0);
  view.setUint16(2, h.idx);
  view.setUint32(4, h.seq >>> 0);
  view.setFloat64(8, h.cameraTime);
  view.setFloat64(16, h.receivedAt);
}

/** Read a frame header; `view` must hold at least FRAME_HEADER_BYTES. */
export function readFrameHeader(view: DataView): FrameHeader {
  return {
    kind: view.getUint8(0),
    idx: view.getUint16(2),
    seq: view.getUint32(4),
    cameraTime: view.getFloat64(8),
    receivedAt: view.getFloat64(16),
  };
}

// ---------------------------------------------------------------- shapes carried in messages

export type { LogEntry, MotionRegion };

/** A command preset: `command` is what the Remote query input takes (raw or `/control value`). */
export interface Preset {
  label: string;
  command: string;
}

/** One camera as the page sees it: its REST JSON (GET /api/cameras) plus the page's extras. */
export interface PageCamera {
  id: string;
  name: string;
  protocol: string | null;
  online: boolean;
  remote: string | null;
  model: string | null;
  firmware: string | null;
  capabilities: string[];
  fps: number;
  bitrate: number;
  frames: number;
  last_frame_at: string | null;
  last_frame_seq: number | null;
  last_seen: string | null;
  motion: boolean;
  motion_region: MotionRegion | null;
  watchers: number;
  info: Record<string, unknown>;
  /** The index used in binary frame headers for this camera. */
  idx: number;
  last_seen_ms: number | null;
  last_frame_time: number | null;
  /** The newest log lines: in hello and when a camera first appears. */
  log?: LogEntry[];
}

/** A camera's figures in the periodic stats message. */
export interface CameraStats {
  id: string;
  online: boolean;
  fps: number;
  bitrate: number;
  last_seen_ms: number | null;
  watchers: number;
}

export interface PtzPosition {
  pan: number;
  tilt: number;
}

/** One camera's answer to a command sent to all cameras. */
export type CommandResult =
  | { id: string; ok: true; answer: unknown }
  | { id: string; ok: false; error: string; code: string };

// ---------------------------------------------------------------- bridge -> page

export interface HelloMessage {
  t: 'hello';
  v: typeof PROTOCOL_VERSION;
  version: string;
  server_time: number;
  framesizes: string[];
  presets: Preset[];
  /** The bridge status strip (MQTT, HA link, viewers): GET /api/bridge's status. */
  status: Record<string, unknown>;
  cameras: PageCamera[];
  /** Whether http.auth is on (the page shows Log out). */
  auth: boolean;
  /** Lets the page offer a stream URL that VLC or HA can open without a session cookie. */
  stream_token: string | null;
  public_url: string;
}

/** The per-connection fields of hello that the page extension supplies. */
export type HelloExtra = Pick<HelloMessage, 'auth' | 'stream_token' | 'public_url'>;

export interface CamMessage {
  t: 'cam';
  cam: PageCamera;
}
export interface RemovedMessage {
  t: 'removed';
  id: string;
}
export interface InfoMessage {
  t: 'info';
  id: string;
  patch: Record<string, unknown>;
}
export interface LogMessage {
  t: 'log';
  id: string;
  entry: LogEntry;
}
export interface MotionMessage {
  t: 'motion';
  id: string;
  state: 'start' | 'end';
  region: MotionRegion | null;
  camera_time: number;
  event_id: string;
}
/** A recorded clip as the page lists it (the events strip, the wall's recent events). */
export interface PageClip {
  /** The clip's id: `api/events/<id>/...` serves it. */
  id: string;
  event_id: string;
  camera: string;
  kind: 'motion' | 'continuous';
  /** Unix ms of its first frame, and of its last once closed. */
  start: number;
  end: number | null;
  duration_s: number;
  frames: number;
}
/** A clip opened, closed or was removed (the recordings sink). */
export interface ClipMessage {
  t: 'clip';
  state: 'open' | 'closed' | 'removed';
  clip: PageClip;
}
export interface StatsMessage {
  t: 'stats';
  server_time: number;
  status: Record<string, unknown>;
  cams: CameraStats[];
}
export interface PresetsMessage {
  t: 'presets';
  presets: Preset[];
}

/** A request that failed: the bridge's error code, or the page's own (offline, timeout, refused). */
export interface Failure {
  ok: false;
  error: string;
  code: string;
}
/** The answer to a request (cmd to one camera, ptz). */
export type Reply<A = unknown> = { ok: true; answer: A } | Failure;
/** The answer to cmd with all: true: one result per online camera; ok when every camera answered. */
export interface AllReply {
  ok: boolean;
  results: CommandResult[];
}

export type ReplyMessage = { t: 'reply'; rid: unknown } & (Reply | AllReply);

/** A message the bridge refused; with the request's rid when it had one. */
export interface ErrorMessage {
  t: 'error';
  error: string;
  rid?: unknown;
}
export interface PongMessage {
  t: 'pong';
  rid: unknown;
  server_time: number;
}

export type ServerMessage =
  | HelloMessage
  | CamMessage
  | RemovedMessage
  | InfoMessage
  | LogMessage
  | MotionMessage
  | ClipMessage
  | StatsMessage
  | PresetsMessage
  | ReplyMessage
  | ErrorMessage
  | PongMessage;

// ---------------------------------------------------------------- page -> bridge

/** The page has drawn (or skipped) a frame of each camera index in c: the bridge may send the next. */
export interface AckMessage {
  t: 'ack';
  c: number[];
}
/** The cameras whose tiles are on screen: the only ones the bridge sends frames for. */
export interface WatchMessage {
  t: 'watch';
  ids: string[];
}
/** A command (the Remote query's text) to one camera, or to every online camera with all: true. */
export interface CmdMessage {
  t: 'cmd';
  rid?: unknown;
  text: string;
  id?: string;
  all?: boolean;
}
/** One relative servo step; without step the camera's own step. */
export interface PtzMessage {
  t: 'ptz';
  rid?: unknown;
  id: string;
  direction: 'up' | 'down' | 'left' | 'right' | 'home';
  step?: number;
}
export interface PingMessage {
  t: 'ping';
  rid?: unknown;
}

export type PageMessage = AckMessage | WatchMessage | CmdMessage | PtzMessage | PingMessage;
export type PageMessageType = PageMessage['t'];
