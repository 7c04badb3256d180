// Home Assistant MQTT discovery payloads, as pure functions (unit-tested against the rules in
// ../shared/reference/home-assistant.md). They must work on every HA from 2024.3 to today:
// - full key names only (abbreviations changed between versions);
// - nested device / origin / availability items hold only the keys HA 2024.3 accepts (one more key
//   and 2024.3 rejects the whole entity);
// - `unique_id` cam2mqtt_<id>_<object>, `object_id` <slug>_<object> (entity id up to HA 2026.3) and
//   `default_entity_id` <domain>.<slug>_<object> (HA 2025.10+); the camera itself is camera.<slug>, its
//   image entity image.<slug>.
import { deviceProfile } from '../devices/index.js';
import { controlEntities } from '../hub/controls.js';
import { entitySlug, type Topics } from './mqtt-topics.js';

export type Component =
  | 'camera'
  | 'binary_sensor'
  | 'sensor'
  | 'button'
  | 'switch'
  | 'select'
  | 'number'
  | 'text'
  | 'event'
  | 'image';

/** What discovery needs to know about a camera (a plain snapshot of hub state, easy to test). */
export interface CameraDescriptor {
  id: string;
  name: string;
  protocol: string | undefined;
  model: string | undefined;
  firmware: string | undefined;
  capabilities: readonly string[];
  /** Recordings are on (recordings.enabled): the last-event sensor and the recording switch. */
  recording?: boolean;
}

export interface DiscoveryContext {
  topics: Topics;
  version: string;
  /** Base URL of the control page (device configuration_url). */
  publicUrl: string;
  /** Announce the image entity (homeassistant.image_interval > 0); default true. */
  image?: boolean;
}

export interface DiscoveryConfig {
  topic: string;
  component: Component;
  node: string;
  object: string;
  payload: Record<string, unknown>;
}

/** Keys HA 2024.3 accepts inside `device` (model_id is newer and makes 2024.3 reject the entity). */
export const DEVICE_KEYS = [
  'identifiers',
  'connections',
  'manufacturer',
  'model',
  'name',
  'hw_version',
  'serial_number',
  'sw_version',
  'via_device',
  'suggested_area',
  'configuration_url',
] as const;
export const ORIGIN_KEYS = ['name', 'sw_version', 'support_url'] as const;
export const AVAILABILITY_KEYS = ['topic', 'payload_available', 'payload_not_available', 'value_template'] as const;

const STATE_TEMPLATE = '{{ value_json.state }}';

/** Node id of a camera in discovery topics: cam2mqtt_<id>. */
export function cameraNode(id: string): string {
  return `cam2mqtt_${id}`;
}

/**
 * The bridge's node and device identifier. Derived from the base topic so that two cam2mqtt
 * instances with different base topics on one broker keep separate bridge devices.
 */
export function bridgeNode(topics: Topics): string {
  const node = topics.base === 'cam2mqtt' ? 'cam2mqtt_bridge' : `cam2mqtt_bridge_${entitySlug(topics.base)}`;
  // A cluster: one bridge device per instance (docs/scale-out.md).
  return topics.instance ? `${node}_${entitySlug(topics.instance)}` : node;
}

function origin(ctx: DiscoveryContext): Record<string, unknown> {
  return { name: 'cam2mqtt', sw_version: ctx.version };
}

function bridgeAvailability(ctx: DiscoveryContext): Record<string, unknown> {
  return {
    topic: ctx.topics.bridgeState,
    value_template: STATE_TEMPLATE,
    payload_available: 'online',
    payload_not_available: 'offline',
  };
}

export function bridgeDevice(ctx: DiscoveryContext): Record<string, unknown> {
  return {
    identifiers: [bridgeNode(ctx.topics)],
    name:
      (ctx.topics.base === 'cam2mqtt' ? 'cam2mqtt bridge' : `cam2mqtt bridge (${ctx.topics.base})`) +
      (ctx.topics.instance ? ` ${ctx.topics.instance}` : ''),
    manufacturer: 'cam2mqtt',
    model: 'cam2mqtt bridge',
    sw_version: ctx.version,
    configuration_url: `${ctx.publicUrl}/`,
  };
}

/** The control page's view of one camera. */
export function cameraPageUrl(publicUrl: string, id: string): string {
  return `${publicUrl}/?camera=${encodeURIComponent(id)}`;
}

function cameraDevice(cam: CameraDescriptor, ctx: DiscoveryContext): Record<string, unknown> {
  return {
    identifiers: [cameraNode(cam.id)],
    name: cam.name,
    manufacturer: 'cam2mqtt',
    model: cam.model ?? deviceProfile(cam.protocol).model,
    ...(cam.firmware ? { sw_version: cam.firmware } : {}),
    // In a cluster a camera's device is the same whichever instance owns it: no via_device.
    ...(ctx.topics.instance ? {} : { via_device: bridgeNode(ctx.topics) }),
    configuration_url: cameraPageUrl(ctx.publicUrl, cam.id),
  };
}

interface EntitySpec {
  component: Component;
  object: string;
  /** null = the device's main feature (HA shows the device name). */
  name: string | null;
  fields: Record<string, unknown>;
}

/** Sensors every dial-in camera reports (native hello/info, MJPEG2SD status), read from <id>/info. */
const diagnosticSensors = (info: string): EntitySpec[] => [
  {
    component: 'sensor',
    object: 'wifi_signal',
    name: 'Wi-Fi signal',
    fields: {
      state_topic: info,
      value_template: '{{ value_json.rssi }}',
      unit_of_measurement: 'dBm',
      device_class: 'signal_strength',
      state_class: 'measurement',
      entity_category: 'diagnostic',
    },
  },
  {
    component: 'sensor',
    object: 'uptime',
    name: 'Uptime',
    fields: {
      state_topic: info,
      value_template: '{{ value_json.uptime }}',
      unit_of_measurement: 's',
      device_class: 'duration',
      entity_category: 'diagnostic',
    },
  },
  {
    component: 'sensor',
    object: 'free_heap',
    name: 'Free heap',
    fields: {
      state_topic: info,
      value_template: '{{ value_json.heap }}',
      unit_of_measurement: 'B',
      device_class: 'data_size',
      state_class: 'measurement',
      entity_category: 'diagnostic',
    },
  },
  {
    component: 'sensor',
    object: 'frame_size',
    name: 'Frame size',
    fields: {
      state_topic: info,
      value_template: '{{ value_json.framesize }}',
      entity_category: 'diagnostic',
      icon: 'mdi:image-size-select-large',
    },
  },
];

/** The entities of the controls a camera has (src/hub/controls.ts CONTROLS: one row each). */
function controlSpecs(cam: CameraDescriptor, t: Topics): EntitySpec[] {
  const caps = new Set(cam.capabilities);
  return controlEntities()
    .filter(({ entity }) => entity.when === undefined || caps.has(entity.when))
    .map(({ name, stateful, entity }) => ({
      component: entity.component,
      object: name,
      name: entity.name,
      fields: {
        command_topic: t.set(cam.id, name),
        ...(stateful ? { state_topic: t.info(cam.id) } : {}),
        ...entity.fields,
      },
    }));
}

/** Figures the bridge keeps of each camera (<id>/diagnostics, rate-limited): every camera has them. */
const bridgeSideSensors = (diag: string): EntitySpec[] => [
  {
    component: 'sensor',
    object: 'viewers',
    name: 'Viewers',
    fields: {
      state_topic: diag,
      value_template: '{{ value_json.viewers }}',
      state_class: 'measurement',
      entity_category: 'diagnostic',
      icon: 'mdi:eye',
    },
  },
  {
    component: 'sensor',
    object: 'reconnects',
    name: 'Reconnects',
    fields: {
      state_topic: diag,
      value_template: '{{ value_json.reconnects }}',
      state_class: 'total_increasing',
      entity_category: 'diagnostic',
      icon: 'mdi:connection',
    },
  },
  {
    component: 'sensor',
    object: 'frame_age',
    name: 'Frame age',
    fields: {
      state_topic: diag,
      value_template: '{{ value_json.frame_age }}',
      unit_of_measurement: 's',
      device_class: 'duration',
      state_class: 'measurement',
      entity_category: 'diagnostic',
    },
  },
];

function entitySpecs(cam: CameraDescriptor, t: Topics, image: boolean): EntitySpec[] {
  const device = deviceProfile(cam.protocol);
  const info = t.info(cam.id);
  const specs: EntitySpec[] = [
    { component: 'camera', object: 'camera', name: null, fields: { topic: t.snapshot(cam.id) } },
    ...(image
      ? [
          {
            component: 'image' as const,
            object: 'image',
            name: null,
            fields: { image_topic: t.image(cam.id), content_type: 'image/jpeg' },
          },
        ]
      : []),
    {
      component: 'binary_sensor',
      object: 'motion',
      name: 'Motion',
      fields: { state_topic: t.motion(cam.id), device_class: 'motion', payload_on: 'ON', payload_off: 'OFF' },
    },
    {
      component: 'event',
      object: 'motion_event',
      name: 'Motion event',
      fields: { state_topic: t.event(cam.id), event_types: ['motion_start', 'motion_end'], device_class: 'motion' },
    },
    ...controlSpecs(cam, t),
    {
      component: 'sensor',
      object: 'fps',
      name: 'Frame rate',
      fields: {
        state_topic: info,
        value_template: '{{ value_json.fps }}',
        unit_of_measurement: 'fps',
        state_class: 'measurement',
        icon: 'mdi:speedometer',
      },
    },
  ];
  if (device.diagnostics) specs.push(...diagnosticSensors(info));
  specs.push(...bridgeSideSensors(t.diagnostics(cam.id)));
  specs.push({
    component: 'sensor',
    object: 'last_seen',
    name: 'Last seen',
    fields: {
      state_topic: info,
      value_template: '{{ value_json.last_seen }}',
      device_class: 'timestamp',
      entity_category: 'diagnostic',
    },
  });
  if (cam.recording) {
    const last = t.lastEvent(cam.id);
    specs.push(
      {
        component: 'sensor',
        object: 'last_event',
        name: 'Last event',
        fields: {
          state_topic: last,
          value_template: '{{ value_json.time }}',
          device_class: 'timestamp',
          json_attributes_topic: last,
          entity_category: 'diagnostic',
          icon: 'mdi:filmstrip',
        },
      },
      {
        component: 'switch',
        object: 'recording',
        name: 'Recording',
        fields: {
          command_topic: t.set(cam.id, 'recording'),
          state_topic: t.recording(cam.id),
          payload_on: 'ON',
          payload_off: 'OFF',
          icon: 'mdi:record-rec',
        },
      },
    );
  }
  if (device.commandMaxBytes !== undefined) {
    specs.push({
      component: 'text',
      object: 'command',
      name: 'Command',
      fields: {
        command_topic: t.set(cam.id, 'command'),
        min: 1,
        max: device.commandMaxBytes,
        mode: 'text',
        entity_category: 'config',
        icon: 'mdi:console',
      },
    });
  }
  return specs;
}

/** Every discovery config of one camera. */
export function cameraDiscovery(cam: CameraDescriptor, ctx: DiscoveryContext): DiscoveryConfig[] {
  const t = ctx.topics;
  const node = cameraNode(cam.id);
  const slug = entitySlug(cam.id);
  const device = cameraDevice(cam, ctx);
  const availability = [
    // In a cluster availability follows the camera, not the instance that happens to own it.
    ...(t.instance ? [] : [bridgeAvailability(ctx)]),
    {
      topic: t.availability(cam.id),
      value_template: STATE_TEMPLATE,
      payload_available: 'online',
      payload_not_available: 'offline',
    },
  ];
  return entitySpecs(cam, t, ctx.image !== false).map((e) => {
    // The camera and its image entity are the device's main features: camera.<slug>, image.<slug>.
    const objectId = e.component === 'camera' || e.component === 'image' ? slug : `${slug}_${e.object}`;
    return {
      topic: t.discovery(e.component, node, e.object),
      component: e.component,
      node,
      object: e.object,
      payload: {
        name: e.name,
        unique_id: `${node}_${e.object}`,
        object_id: objectId,
        default_entity_id: `${e.component}.${objectId}`,
        ...e.fields,
        availability,
        availability_mode: 'all',
        device,
        origin: origin(ctx),
      },
    };
  });
}

/** The bridge device: connection state, version, camera counts. */
export function bridgeDiscovery(ctx: DiscoveryContext): DiscoveryConfig[] {
  const t = ctx.topics;
  const node = bridgeNode(t);
  const device = bridgeDevice(ctx);
  const specs: EntitySpec[] = [
    // No availability here: this entity must show "disconnected" when the bridge is offline.
    {
      component: 'binary_sensor',
      object: 'connection_state',
      name: 'Connection state',
      fields: {
        state_topic: t.bridgeState,
        value_template: STATE_TEMPLATE,
        payload_on: 'online',
        payload_off: 'offline',
        device_class: 'connectivity',
        entity_category: 'diagnostic',
      },
    },
    {
      component: 'sensor',
      object: 'version',
      name: 'Version',
      fields: {
        state_topic: t.bridgeInfo,
        value_template: '{{ value_json.version }}',
        entity_category: 'diagnostic',
        icon: 'mdi:tag',
      },
    },
    {
      component: 'sensor',
      object: 'camera_count',
      name: 'Cameras',
      fields: {
        state_topic: t.bridgeInfo,
        value_template: '{{ value_json.camera_count }}',
        state_class: 'measurement',
        icon: 'mdi:cctv',
      },
    },
    {
      component: 'sensor',
      object: 'cameras_online',
      name: 'Cameras online',
      fields: {
        state_topic: t.bridgeInfo,
        value_template: '{{ value_json.cameras_online }}',
        state_class: 'measurement',
        icon: 'mdi:cctv',
      },
    },
    {
      component: 'sensor',
      object: 'viewers',
      name: 'Viewers',
      fields: {
        state_topic: t.bridgeDiagnostics,
        value_template: '{{ value_json.viewers }}',
        state_class: 'measurement',
        entity_category: 'diagnostic',
        icon: 'mdi:eye',
      },
    },
    {
      component: 'sensor',
      object: 'mqtt_clients',
      name: 'MQTT clients',
      fields: {
        state_topic: t.bridgeDiagnostics,
        value_template: '{{ value_json.mqtt_clients }}',
        state_class: 'measurement',
        entity_category: 'diagnostic',
        icon: 'mdi:lan-connect',
      },
    },
  ];
  return specs.map((e) => {
    const objectId = `${node}_${e.object}`;
    const withAvailability = e.object !== 'connection_state';
    return {
      topic: t.discovery(e.component, node, e.object),
      component: e.component,
      node,
      object: e.object,
      payload: {
        name: e.name,
        unique_id: objectId,
        object_id: objectId,
        default_entity_id: `${e.component}.${objectId}`,
        ...e.fields,
        ...(withAvailability ? { availability: [bridgeAvailability(ctx)] } : {}),
        device,
        origin: origin(ctx),
      },
    };
  });
}

/**
 * Is this retained discovery payload one of ours (this bridge, this base topic)? Used to clear stale
 * configs without touching another cam2mqtt instance's or another program's entities.
 */
export function isOwnDiscovery(payload: unknown, topics: Topics): boolean {
  if (typeof payload !== 'object' || payload === null) return false;
  const dev = (payload as { device?: { identifiers?: unknown; via_device?: unknown } }).device;
  if (!dev) return false;
  const bridge = bridgeNode(topics);
  return dev.via_device === bridge || (Array.isArray(dev.identifiers) && dev.identifiers.includes(bridge));
}
