import { Ring } from '../util/ring.js';
import type { Command, CommandResult } from './controls.js';
import type { Frame } from './frame.js';
import type { LogEntry, MotionRegion } from './shapes.js';

export type Protocol = 'native' | 'legacy' | 'mjpeg' | 'snapshot';

/** What a source gives the hub for a connected camera: a way to command it and to drop it. */
export interface CameraLink {
  readonly protocol: Protocol;
  /** Peer address for logs and the page. */
  readonly remote: string;
  /** Send a validated command; resolve with the camera's answer or reject with a CommandError. */
  send(cmd: Command, timeoutMs: number): Promise<CommandResult>;
  /** Close the connection (the source then calls hub.detach). */
  close(code: number, reason: string): void;
  /** Tell the camera whether anyone watches (native cameras lower their rate when nobody does). */
  setDemand?(watching: boolean): void;
  /** Ask the camera for a fresh full-resolution frame (cameras with the `snapshot` capability). */
  snapshot?(timeoutMs: number): Promise<Frame>;
  /**
   * Move the servos one step (D-pad, HA buttons) for cameras whose servos move by relative steps
   * (securityCam's servo_url); resolves with the new {pan, tilt} as answer. `step` in degrees, default per camera.
   */
  move?(direction: PtzDirection, step: number | undefined, timeoutMs: number): Promise<CommandResult>;
}

/** Relative servo moves; 'home' returns to the start position. */
export type PtzDirection = 'left' | 'right' | 'up' | 'down' | 'home';

export interface CameraMeta {
  name?: string;
  model?: string;
  firmware?: string;
  capabilities?: string[];
}

export type { LogEntry, MotionRegion };

export type FrameListener = (frame: Frame) => void;

export class Camera {
  name: string;
  protocol: Protocol | undefined;
  model: string | undefined;
  firmware: string | undefined;
  capabilities = new Set<string>();
  /** From the settings file (cameras:), as opposed to auto-registered on connect. */
  configured = false;
  /** Named by the user (hub.rename): the camera's own hello name no longer replaces it. */
  renamed = false;

  online = false;
  remote: string | undefined;
  link: CameraLink | undefined;
  connectedAt: number | undefined;
  /** Last sign of life (frame, text, ping), Unix ms. */
  lastSeen: number | undefined;

  latest: Frame | undefined;
  /** Last frame published as a snapshot (motion start, request, interval). */
  snapshot: Frame | undefined;
  info: Record<string, unknown> = {};
  motion = false;
  motionRegion: MotionRegion | undefined;
  motionEventId: string | undefined;
  /** Recording switch (the recordings sink sets it; undefined while recordings are off). */
  recording: boolean | undefined;

  /** Connections since start (hub.attach); reconnects = connections - 1. */
  connections = 0;
  /** Measured over the last stats interval. */
  fps = 0;
  bitrate = 0;
  frames = 0;
  bytes = 0;
  badMessages = 0;
  /** Info keys refused past the bounds (hub.updateInfo); the first drop is logged, the rest counted. */
  droppedInfoKeys = 0;
  droppedInfoLogged = false;
  /** Counters at the previous stats tick. */
  statFrames = 0;
  statBytes = 0;

  readonly log = new Ring<LogEntry>(100);
  private readonly listeners = new Set<FrameListener>();
  /** Called when the watcher count goes 0 -> 1 or 1 -> 0. */
  onDemandChange: ((watching: boolean) => void) | undefined;

  constructor(
    readonly id: string,
    name?: string,
  ) {
    this.name = name ?? id;
  }

  /** Receive every frame of this camera. Returns the unsubscribe function. */
  subscribe(fn: FrameListener): () => void {
    this.listeners.add(fn);
    if (this.listeners.size === 1) this.onDemandChange?.(true);
    return () => {
      if (this.listeners.delete(fn) && this.listeners.size === 0) this.onDemandChange?.(false);
    };
  }

  get watchers(): number {
    return this.listeners.size;
  }

  /** Hot path: called by the hub for every frame. */
  deliver(frame: Frame): void {
    for (const fn of this.listeners) fn(frame);
  }

  toJSON(): Record<string, unknown> {
    return {
      id: this.id,
      name: this.name,
      protocol: this.protocol ?? null,
      online: this.online,
      remote: this.remote ?? null,
      model: this.model ?? null,
      firmware: this.firmware ?? null,
      capabilities: [...this.capabilities],
      fps: Math.round(this.fps * 10) / 10,
      bitrate: Math.round(this.bitrate),
      frames: this.frames,
      last_frame_at: this.latest ? new Date(this.latest.receivedAt).toISOString() : null,
      last_frame_seq: this.latest?.seq ?? null,
      last_seen: this.lastSeen ? new Date(this.lastSeen).toISOString() : null,
      motion: this.motion,
      motion_region: this.motionRegion ?? null,
      watchers: this.watchers,
      info: this.info,
    };
  }
}

export type { Command, CommandResult };

export interface CameraSummary {
  id: string;
  name: string;
  protocol: string | null;
  online: boolean;
  model: string | null;
  firmware: string | null;
  capabilities: string[];
  configured: boolean;
}

/** `<base>/bridge/cameras` entry: identity and connection, no fast-changing counters. */
export function cameraSummary(cam: Camera): CameraSummary {
  return {
    id: cam.id,
    name: cam.name,
    protocol: cam.protocol ?? null,
    online: cam.online,
    model: cam.model ?? null,
    firmware: cam.firmware ?? null,
    capabilities: [...cam.capabilities].sort(),
    configured: cam.configured,
  };
}
