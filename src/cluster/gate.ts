import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import type { Camera, CameraLink } from '../hub/camera.js';
import type { CameraHub } from '../hub/hub.js';

// What the rest of the bridge may know about the cluster, without loading it (or Redis): this file
// imports nothing of src/cluster's Redis side, so a single instance pays for none of it.

/** Links of cameras owned by another instance (the relay's RemoteLink): set by src/cluster/relay.ts. */
const relayedLinks = new WeakSet<CameraLink>();

export function markRelayed(link: CameraLink): void {
  relayedLinks.add(link);
}

/**
 * Is this camera owned by another instance and only relayed here? Sinks that publish a camera's own
 * state (MQTT) leave such cameras to their owner, so every message has one author.
 */
export function isRelayed(cam: Camera | undefined): boolean {
  return cam?.link !== undefined && relayedLinks.has(cam.link);
}

/** A pulled camera's side of a lease: run while held, stop when lost. */
export interface LeaseHolder {
  acquired(): void;
  lost(): void;
}

/** What the pulled-camera source asks the cluster: may this instance pull `id`? */
export interface PullGate {
  /** Pull `id` while this instance holds its lease (exactly one instance at a time). */
  lease(id: string, holder: LeaseHolder): void;
  release(id: string): void;
}

const gates = new WeakMap<CameraHub, PullGate>();

export function setPullGate(hub: CameraHub, gate: PullGate | undefined): void {
  if (gate) gates.set(hub, gate);
  else gates.delete(hub);
}

/** The cluster's lease gate for this bridge, or undefined on a single instance (pull at once). */
export function pullGate(hub: CameraHub): PullGate | undefined {
  return gates.get(hub);
}

/** This instance's id in the cluster: cluster.instance_id, else the host name as a slug. */
export function clusterInstanceId(cluster: { instance_id?: string | undefined }): string {
  if (cluster.instance_id) return cluster.instance_id;
  const host = hostname()
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+/, '')
    .slice(0, 48);
  return host || 'cam2mqtt';
}

/**
 * Events and clips held by other instances (src/cluster/events.ts), for the events API of
 * src/sinks/recordings/api.ts: each instance keeps its own index and files, so the list is merged
 * from every live instance and a request for an event held elsewhere is forwarded to its holder.
 */
export interface RemoteEvents {
  /** This instance's id: each event's `instance` in the API. */
  readonly instance: string;
  /** A request from another instance (answer from this instance's own index only). */
  fromPeer(req: IncomingMessage): boolean;
  /** The same query on every other live instance: their events (newest first) and who did not answer. */
  list(query: URLSearchParams, limit: number): Promise<{ events: Record<string, unknown>[]; unreachable: string[] }>;
  /** Answer `req` for event `id` (not in this index) from the instance holding it; false if none does. */
  forward(req: IncomingMessage, res: ServerResponse, id: string): Promise<boolean>;
}

const remoteEventsOf = new WeakMap<CameraHub, RemoteEvents>();

export function setRemoteEvents(hub: CameraHub, r: RemoteEvents | undefined): void {
  if (r) remoteEventsOf.set(hub, r);
  else remoteEventsOf.delete(hub);
}

/** The cluster's view of the other instances' events, or undefined on a single instance. */
export function remoteEvents(hub: CameraHub): RemoteEvents | undefined {
  return remoteEventsOf.get(hub);
}

/** What the MQTT sink asks the cluster (src/cluster/index.ts), so one instance acts for all. */
export interface ClusterMqtt {
  /**
   * Does this instance answer a request on the shared `<base>/bridge/request/<path>`? One instance
   * does: a camera's owner for a request about it, else the live instance with the smallest id.
   */
  answers(path: string, cameraId: string | undefined): boolean;
  /** The camera ids the whole cluster knows (Redis), or undefined while Redis is unreachable. */
  knownCameras(): Promise<Set<string> | undefined>;
  /** Call `fn` when Redis is back after an outage (and the registry synced): publish own state again. */
  onBack(fn: () => void): void;
}

const clusterMqttOf = new WeakMap<CameraHub, ClusterMqtt>();

export function setClusterMqtt(hub: CameraHub, c: ClusterMqtt | undefined): void {
  if (c) clusterMqttOf.set(hub, c);
  else clusterMqttOf.delete(hub);
}

export function clusterMqtt(hub: CameraHub): ClusterMqtt | undefined {
  return clusterMqttOf.get(hub);
}
