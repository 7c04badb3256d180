// The Home Assistant entities cam2mqtt announces, computed with the MQTT sink's own discovery code,
// so `cam2mqtt ha link` waits for exactly what was published and can tell what HA has not created.
import {
  bridgeDiscovery,
  bridgeNode,
  type CameraDescriptor,
  cameraDiscovery,
  cameraNode,
} from '../formats/ha-discovery.js';
import { entitySlug, RESERVED_IDS, Topics } from '../formats/mqtt-topics.js';
import type { BridgeCamera, BridgeInfo } from './bridge-info.js';

export interface ExpectedEntity {
  unique_id: string;
  /** The entity id cam2mqtt asks for (object_id / default_entity_id). */
  entity_id: string;
  component: string;
  object: string;
  device_class?: string;
}

export interface ExpectedDevice {
  /** Camera id, or undefined for the bridge device. */
  camera?: string;
  /** Device identifier (the MQTT discovery node). */
  node: string;
  name: string;
  entities: ExpectedEntity[];
}

function topicsOf(info: BridgeInfo): Topics {
  return new Topics({
    base: info.base_topic,
    discoveryPrefix: info.discovery_prefix,
    haStatus: 'homeassistant/status',
  });
}

function descriptor(c: BridgeCamera): CameraDescriptor {
  return {
    id: c.id,
    name: c.name,
    protocol: c.protocol ?? undefined,
    model: c.model ?? undefined,
    firmware: c.firmware ?? undefined,
    capabilities: c.capabilities,
  };
}

/** Cameras that get Home Assistant entities (the reserved id "bridge" does not). */
export function announcedCameras(info: BridgeInfo): BridgeCamera[] {
  return info.cameras.filter((c) => !RESERVED_IDS.has(c.id));
}

/** Every device and entity cam2mqtt announces for this bridge state: the bridge first, then each camera. */
export function expectedDevices(info: BridgeInfo): ExpectedDevice[] {
  const topics = topicsOf(info);
  const ctx = { topics, version: info.version, publicUrl: info.public_url, image: (info.image_interval ?? 2) > 0 };
  const toEntity = (d: { component: string; object: string; payload: Record<string, unknown> }): ExpectedEntity => ({
    unique_id: String(d.payload.unique_id),
    entity_id: String(d.payload.default_entity_id ?? `${d.component}.${String(d.payload.object_id)}`),
    component: d.component,
    object: d.object,
    ...(typeof d.payload.device_class === 'string' ? { device_class: d.payload.device_class } : {}),
  });
  const out: ExpectedDevice[] = [
    { node: bridgeNode(topics), name: 'cam2mqtt bridge', entities: bridgeDiscovery(ctx).map(toEntity) },
  ];
  for (const cam of announcedCameras(info)) {
    out.push({
      camera: cam.id,
      node: cameraNode(cam.id),
      name: cam.name,
      entities: cameraDiscovery(descriptor(cam), ctx).map(toEntity),
    });
  }
  return out;
}

/** image.<slug>: the camera's image entity (homeassistant.image_interval > 0). */
export function imageEntityId(cameraId: string): string {
  return `image.${entitySlug(cameraId)}`;
}

/** camera.<slug>_live: the entity id cam2mqtt gives the mjpeg live view of a camera. */
export function liveEntityId(cameraId: string): string {
  return `camera.${entitySlug(cameraId)}_live`;
}

export function liveUrls(publicUrl: string, cameraId: string): { mjpeg_url: string; still_image_url: string } {
  const base = `${publicUrl.replace(/\/+$/, '')}/api/cameras/${encodeURIComponent(cameraId)}`;
  return { mjpeg_url: `${base}/stream.mjpeg`, still_image_url: `${base}/snapshot.jpg` };
}

/** The camera id of one of our stream URLs (any host), or undefined. */
export function cameraOfStreamUrl(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  const m = /\/api\/cameras\/([^/?#]+)\/stream\.mjpeg(?:[?#]|$)/.exec(url);
  return m ? decodeURIComponent(m[1]!) : undefined;
}

export { bridgeNode, cameraNode, entitySlug };
