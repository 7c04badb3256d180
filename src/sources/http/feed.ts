import type { Protocol } from '../../hub/camera.js';

/**
 * Where a pulled camera's frames come from. PulledCamera (the lifecycle: hub attach/detach, commands,
 * snapshots, status) runs one feed; a feed owns its connection and its demand policy (on_demand: what
 * it does while nobody watches). Another pulled protocol is one new FrameFeed.
 */
export interface FrameFeed {
  /** The protocol value the camera carries in the hub while this feed runs it. */
  readonly protocol: Protocol;
  /** The device model shown for the camera. */
  readonly model: string;
  /** Where frames come from, for logs and status (no credentials). */
  readonly url: string;
  /** What the start-up log line says the feed pulls ("MJPEG", "stills"). */
  readonly what: string;
  /** Begin; `watched`: someone watches already. */
  start(watched: boolean): void;
  stop(): void;
  /** Someone started (true) or stopped (false) watching. */
  setDemand(watching: boolean): void;
  /** The hub heard nothing for camera_timeout: start over. */
  restart(): void;
  /** Make a fresh frame arrive soon (a snapshot request); rejects when the camera cannot give one. */
  grab(): Promise<void>;
  status(): FeedStatus;
}

export interface FeedStatus {
  streaming: boolean;
  connects: number;
  frames: number;
  oversize: number;
  lastError: string | undefined;
}

/** What a feed tells the PulledCamera that runs it. */
export interface FeedOwner {
  /**
   * A complete JPEG (checked): one Buffer, or the socket chunks it arrived in (never copied, see
   * Frame). Runs on the socket's data event: keep it cheap.
   */
  frame(jpeg: Buffer | readonly Buffer[]): void;
  /** The camera is gone (connection failed, polls failing, unreachable). */
  down(reason: string): void;
  /** Refused data worth counting against the camera (oversize frames, non-JPEG parts). */
  bad(): void;
  /** The camera is there although no frame came (an on-demand camera nobody watches): online, or still online. */
  reachable(): void;
  /** A sign of life from a camera already online (a poll answered). */
  touch(): void;
}
