import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { type Config, configSchema } from './schema.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const ENV_PREFIX = 'CAM2MQTT_';

export interface LoadOptions {
  /** Settings file; default <dataDir>/configuration.yaml. A missing default file is fine. */
  file?: string;
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Values from command-line flags, as dotted paths ("http.port"). Highest priority. */
  overrides?: Record<string, unknown>;
  /** Used instead of reading a file (tests, embedding). */
  raw?: unknown;
}

export interface LoadedConfig {
  config: Config;
  file: string;
  fileFound: boolean;
  dataDir: string;
  /** Which env vars were applied, for the startup log. */
  envApplied: string[];
}

type Node = z.core.$ZodType;

// Peel wrappers (default/optional/nullable/pipe) to reach the object, record or leaf underneath.
function unwrap(schema: Node): Node {
  let s = schema;
  for (;;) {
    const def = s._zod.def as unknown as { type: string; innerType?: Node; in?: Node };
    if (
      (def.type === 'default' ||
        def.type === 'prefault' ||
        def.type === 'optional' ||
        def.type === 'nullable' ||
        def.type === 'readonly') &&
      def.innerType
    )
      s = def.innerType;
    else if (def.type === 'pipe' && def.in) s = def.in;
    else return s;
  }
}

function kind(schema: Node): string {
  return (unwrap(schema)._zod.def as { type: string }).type;
}

function shapeOf(schema: Node): Record<string, Node> | undefined {
  const s = unwrap(schema);
  const def = s._zod.def as unknown as { type: string; shape?: Record<string, Node> };
  return def.type === 'object' ? def.shape : undefined;
}

/**
 * Resolve an env var name (after the prefix, lower-cased tokens) to a key path by walking the schema:
 * CAM2MQTT_HTTP_PORT -> http.port, CAM2MQTT_MQTT_BASE_TOPIC -> mqtt.base_topic,
 * CAM2MQTT_CAMERAS_FRONT_DOOR_TOKEN -> cameras.front_door.token.
 */
function resolveEnvPath(schema: Node, tokens: string[]): { path: string[]; leaf: Node } | undefined {
  if (tokens.length === 0) return undefined;
  const shape = shapeOf(schema);
  if (shape) {
    for (const [key, child] of Object.entries(shape)) {
      const kt = key.split('_');
      if (kt.length > tokens.length || !kt.every((t, i) => tokens[i] === t)) continue;
      const rest = tokens.slice(kt.length);
      if (rest.length === 0) return { path: [key], leaf: child };
      const sub = resolveEnvPath(child, rest);
      if (sub) return { path: [key, ...sub.path], leaf: sub.leaf };
    }
    return undefined;
  }
  const def = unwrap(schema)._zod.def as unknown as { type: string; valueType?: Node };
  if (def.type === 'record' && def.valueType) {
    for (let i = 1; i < tokens.length; i++) {
      const sub = resolveEnvPath(def.valueType, tokens.slice(i));
      if (sub) return { path: [tokens.slice(0, i).join('_'), ...sub.path], leaf: sub.leaf };
    }
  }
  return undefined;
}

function setPath(target: Record<string, unknown>, keys: string[], value: unknown): void {
  let o = target;
  for (const k of keys.slice(0, -1)) {
    if (typeof o[k] !== 'object' || o[k] === null || Array.isArray(o[k])) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[keys[keys.length - 1]!] = value;
}

function getPath(target: unknown, keys: PropertyKey[]): unknown {
  let o = target;
  for (const k of keys) {
    if (typeof o !== 'object' || o === null) return undefined;
    o = (o as Record<PropertyKey, unknown>)[k];
  }
  return o;
}

function parseEnvValue(raw: string, leaf: Node): unknown {
  // Strings stay as typed (a password "1234" is not a number); everything else is a YAML scalar or list.
  if (kind(leaf) === 'string') return raw;
  try {
    return YAML.parse(raw);
  } catch {
    return raw;
  }
}

function show(value: unknown): string {
  if (value === undefined) return '(missing)';
  let s: string;
  try {
    s = JSON.stringify(value);
  } catch {
    // A YAML alias that contains itself (a: &x [*x]) makes a value JSON cannot show.
    return '(a value that contains itself)';
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function describeIssues(error: z.ZodError, raw: unknown): string {
  return error.issues
    .map((issue) => {
      const keys = issue.path;
      if (issue.code === 'unrecognized_keys') {
        const where = keys.length ? `${keys.join('.')}.` : '';
        return `unknown key ${issue.keys.map((k) => `"${where}${k}"`).join(', ')} (see config/configuration.example.yaml)`;
      }
      if (issue.code === 'invalid_key') {
        const inner = (issue as unknown as { issues?: { message: string }[] }).issues?.[0]?.message ?? issue.message;
        return `${keys.slice(0, -1).join('.')}: ${show(keys[keys.length - 1])} is not a valid id: ${inner}`;
      }
      const key = keys.length ? keys.join('.') : '(root)';
      const value = getPath(raw, keys);
      return `${key} = ${show(value)}: ${issue.message.replace(/^Invalid input: /, '')}`;
    })
    .join('; ');
}

export function loadConfig(opts: LoadOptions = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const dataDir = path.resolve(opts.dataDir ?? env[`${ENV_PREFIX}DATA_DIR`] ?? 'data');
  const file = path.resolve(opts.file ?? env[`${ENV_PREFIX}CONFIG`] ?? path.join(dataDir, 'configuration.yaml'));
  let raw: Record<string, unknown> = {};
  let fileFound = false;
  if (opts.raw !== undefined) {
    raw = structuredClone(opts.raw) as Record<string, unknown>;
  } else if (existsSync(file)) {
    fileFound = true;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read ${file}: ${(err as Error).message}`);
    }
    try {
      raw = (YAML.parse(text) ?? {}) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(`${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    if (typeof raw !== 'object' || Array.isArray(raw))
      throw new ConfigError(`${file}: expected a mapping of settings at the top level`);
  } else if (opts.file !== undefined || env[`${ENV_PREFIX}CONFIG`] !== undefined) {
    throw new ConfigError(`configuration file ${file} does not exist`);
  }

  const envApplied: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    if (name === `${ENV_PREFIX}DATA_DIR` || name === `${ENV_PREFIX}CONFIG`) continue;
    const tokens = name.slice(ENV_PREFIX.length).toLowerCase().split('_').filter(Boolean);
    const hit = resolveEnvPath(configSchema, tokens);
    if (!hit)
      throw new ConfigError(
        `environment variable ${name} does not name a setting (expected ${ENV_PREFIX}<SECTION>_<KEY>, e.g. ${ENV_PREFIX}HTTP_PORT)`,
      );
    setPath(raw, hit.path, parseEnvValue(value, hit.leaf));
    envApplied.push(name);
  }
  for (const [dotted, value] of Object.entries(opts.overrides ?? {})) {
    if (value !== undefined) setPath(raw, dotted.split('.'), value);
  }

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      `invalid configuration${fileFound ? ` in ${file}` : ''}: ${describeIssues(parsed.error, raw)}`,
    );
  }
  return { config: parsed.data, file, fileFound, dataDir, envApplied };
}
