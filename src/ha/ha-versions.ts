// Everything that differs between the Home Assistant versions cam2mqtt supports, in one table, and the
// MQTT config flow input built from the form HA returns. Adding an HA version that changes again means
// one row here (and one matrix leg in .ci/run-ha.sh); nothing else in src/ha/ asks for a version.
import { HaError } from './errors.js';
import { compareHaVersions, MIN_HA_VERSION } from './version.js';

export type MqttProtocol = '5' | '3.1.1';

/** Where HA shows an MQTT entry's broker settings (config_entries never returns `data`). */
export type MqttEntryLayout =
  /** The options flow's first form (the `broker` step) has broker / port / username as defaults. */
  | 'options_flow'
  /** The options flow has only discovery and birth options; a reconfigure flow shows the broker. */
  | 'reconfigure_flow';

export interface HaVersionRow {
  /** The first Home Assistant version this row describes (it holds until the next row's). */
  since: string;
  /** The MQTT protocol HA's MQTT integration uses when the user leaves its default. */
  defaultProtocol: MqttProtocol;
  /** Fields of the MQTT config flow's broker form that cam2mqtt fills (with what it knows). */
  mqttFlowFields: readonly MqttFlowField[];
  /** Required sections of that form, filled with HA's own defaults (a user leaves them folded). */
  mqttFlowSections: readonly string[];
  mqttEntry: MqttEntryLayout;
}

/** What cam2mqtt can put into a field of the broker form. */
export type MqttFlowField = 'broker' | 'port' | 'username' | 'password' | 'protocol';

/** Oldest first. Measured against the real HA of each row (the test matrix, test/ha/*.ha.ts). */
export const HA_VERSIONS: readonly HaVersionRow[] = [
  {
    since: MIN_HA_VERSION, // tested: 2024.3.3
    defaultProtocol: '3.1.1',
    mqttFlowFields: ['broker', 'port', 'username', 'password'],
    mqttFlowSections: [],
    mqttEntry: 'options_flow',
  },
  {
    // tested: 2026.11.0. Protocol 5 by default (3.1.1 deprecated, repair issue protocol_5_migration),
    // the broker form gained the protocol and the required "other_settings" section, flow ids are ULIDs.
    since: '2026.11.0',
    defaultProtocol: '5',
    mqttFlowFields: ['broker', 'port', 'username', 'password', 'protocol'],
    mqttFlowSections: ['other_settings'],
    mqttEntry: 'reconfigure_flow',
  },
];

/** The row for a Home Assistant version (the newest row not newer than it). */
export function haVersionRow(version: string, rows: readonly HaVersionRow[] = HA_VERSIONS): HaVersionRow {
  let row = rows[0]!;
  for (const r of rows) if (compareHaVersions(version, r.since) >= 0) row = r;
  return row;
}

// ---- the MQTT config flow input ------------------------------------------------------------------

/** One field of a form as HA serialises it (voluptuous_serialize); sections are type "expandable". */
export interface SchemaField {
  name: string;
  type?: string;
  required?: boolean;
  optional?: boolean;
  default?: unknown;
  description?: { suggested_value?: unknown } | null;
  selector?: Record<string, unknown>;
  options?: unknown;
  schema?: SchemaField[];
  [k: string]: unknown;
}

export interface MqttFlowValues {
  broker: string;
  port: number;
  username?: string | undefined;
  password?: string | undefined;
  /** Protocols the broker speaks, best first (what cam2mqtt picks from what HA offers). */
  protocols: readonly MqttProtocol[];
}

/** The values a field offers (select selector, or a plain `options` list), as strings. */
export function offeredValues(f: SchemaField): string[] | undefined {
  const sel = (f.selector?.select as { options?: unknown } | undefined)?.options ?? f.options;
  if (!Array.isArray(sel)) return undefined;
  return sel.map((o) =>
    typeof o === 'object' && o !== null && 'value' in o
      ? String((o as { value: unknown }).value)
      : Array.isArray(o)
        ? String(o[0])
        : String(o),
  );
}

function isRequired(f: SchemaField): boolean {
  return f.required === true || (f.required === undefined && f.optional !== true);
}

/** The protocol to ask for: the broker's best one HA offers, else 3.1.1. */
export function pickProtocol(field: SchemaField | undefined, speaks: readonly MqttProtocol[]): MqttProtocol {
  const offered = field ? (offeredValues(field) ?? ['5', '3.1.1']) : ['3.1.1'];
  return speaks.find((p) => offered.includes(p)) ?? '3.1.1';
}

/**
 * The input for the MQTT config flow's broker form `schema`, built from the form itself: the fields
 * cam2mqtt knows get its values, fields with a default keep HA's default (what a user who does not
 * touch them sends), the row's required sections get HA's defaults for each of their fields. A
 * required field without a default that no row knows cannot be filled: HaError naming the field and
 * HA's version (the caller aborts the flow, so nothing changes).
 */
export function mqttFlowInput(
  schema: readonly SchemaField[],
  v: MqttFlowValues,
  haVersion: string,
  row: HaVersionRow = haVersionRow(haVersion),
): Record<string, unknown> {
  // Fields and sections any row knows: an HA between two rows may already show the newer row's.
  const knownFields = new Set<string>(HA_VERSIONS.flatMap((r) => r.mqttFlowFields));
  for (const f of row.mqttFlowFields) knownFields.add(f);
  const knownSections = new Set<string>([...HA_VERSIONS.flatMap((r) => r.mqttFlowSections), ...row.mqttFlowSections]);
  const unknown = (where: string): HaError =>
    new HaError(
      'mqtt_flow_unknown',
      `Home Assistant ${haVersion}'s MQTT setup asks for "${where}", which cam2mqtt does not know how to fill: add the MQTT integration in Home Assistant by hand (Settings > Devices & services > Add integration > MQTT), then run this again`,
    );
  const value = (f: SchemaField): unknown => {
    switch (f.name as MqttFlowField) {
      case 'broker':
        return v.broker;
      case 'port':
        return v.port;
      case 'username':
        return v.username;
      case 'password':
        return v.password;
      case 'protocol':
        return pickProtocol(f, v.protocols);
      default:
        return undefined;
    }
  };
  const defaults = (fields: readonly SchemaField[], section: string): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const f of fields) {
      if (f.default !== undefined) out[f.name] = f.default;
      else if (f.type === 'boolean' || f.selector?.boolean !== undefined) {
        if (isRequired(f)) out[f.name] = false; // an untouched toggle is off
      } else if (isRequired(f)) {
        // A required select with no default: the UI preselects nothing, so neither can we, unless it
        // offers "off" (like set_ca_cert).
        const offered = offeredValues(f);
        if (offered?.includes('off')) out[f.name] = 'off';
        else throw unknown(`${section}.${f.name}`);
      }
    }
    return out;
  };
  const data: Record<string, unknown> = {};
  for (const f of schema) {
    if (knownFields.has(f.name)) {
      const x = value(f);
      if (x !== undefined) data[f.name] = x;
      else if (isRequired(f) && f.default === undefined) throw unknown(f.name);
    } else if (f.type === 'expandable' && Array.isArray(f.schema)) {
      if (!isRequired(f)) continue;
      if (!knownSections.has(f.name)) throw unknown(f.name);
      data[f.name] = defaults(f.schema, f.name);
    } else if (f.default !== undefined) {
      data[f.name] = f.default;
    } else if (isRequired(f)) {
      throw unknown(f.name);
    }
  }
  return data;
}
