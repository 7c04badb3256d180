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
