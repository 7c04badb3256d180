// One clear message per way `cam2mqtt ha` can fail. The message is what the user reads: it names the
// URL or setting involved and what to do; `code` is for programs (tests, the page, --json).

export type HaErrorCode =
  | 'no_url'
  | 'no_token'
  | 'bad_url'
  | 'unreachable'
  | 'not_ha'
  | 'bad_token'
  | 'banned'
  | 'not_admin'
  | 'too_old'
  | 'ha_error'
  | 'bridge_unreachable'
  | 'bridge_auth'
  | 'mqtt_disabled'
  | 'discovery_disabled'
  | 'mqtt_credentials'
  | 'other_broker'
  | 'mqtt_failed'
  | 'mqtt_flow_unknown'
  | 'discovery_timeout'
  | 'live_failed';

export class HaError extends Error {
  override name = 'HaError';
  constructor(
    readonly code: HaErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Why a fetch() failed, in words (ECONNREFUSED, DNS, timeout, TLS...). */
export function describeFetchError(err: unknown): { code: 'unreachable' | 'bad_url'; why: string } {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string; name?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError')
    return { code: 'unreachable', why: 'no answer within the time limit' };
  const cause = e?.cause;
  const c = cause?.code ?? '';
  switch (c) {
    case 'ECONNREFUSED':
      return { code: 'unreachable', why: 'connection refused (is it running, and is the port right?)' };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { code: 'bad_url', why: 'the host name does not resolve' };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { code: 'unreachable', why: 'no route to the host' };
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
      return { code: 'unreachable', why: 'no answer within the time limit' };
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return {
        code: 'unreachable',
        why: 'the connection was closed without an answer (an https:// URL for a plain-HTTP server, or the other way round?)',
      };
    default:
      break;
  }
  if (/certificate|SSL|TLS|self.signed/i.test(`${c} ${cause?.message ?? ''}`)) {
    return { code: 'unreachable', why: `TLS error: ${cause?.message ?? c}` };
  }
  const detail = cause?.message ?? e?.message ?? String(err);
  return { code: 'unreachable', why: c ? `${c}: ${detail}` : detail };
}

/** Normalises a Home Assistant base URL ("http://ha:8123/" -> "http://ha:8123"), or throws bad_url. */
export function normaliseHaUrl(raw: string | undefined): string {
  if (raw === undefined || raw.trim() === '') {
    throw new HaError(
      'no_url',
      'no Home Assistant URL: pass --url http://HOST:8123, or set homeassistant.url (CAM2MQTT_HOMEASSISTANT_URL)',
    );
  }
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw new HaError('bad_url', `"${raw}" is not a URL: expected something like http://homeassistant.local:8123`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new HaError(
      'bad_url',
      `"${raw}" is not a Home Assistant URL: expected http:// or https:// (like http://homeassistant.local:8123)`,
    );
  }
  if (u.username || u.password) {
    throw new HaError(
      'bad_url',
      `"${u.protocol}//${u.host}${u.pathname}": Home Assistant takes a token, not a user and password in the URL (pass --token)`,
    );
  }
  if (u.search || u.hash) {
    throw new HaError(
      'bad_url',
      `"${raw}": expected only Home Assistant's address, without ?query or #fragment (like http://homeassistant.local:8123)`,
    );
  }
  const path = u.pathname.replace(/\/+$/, '');
  return `${u.protocol}//${u.host}${path}`;
}

/** Message of anything thrown by home-assistant-js-websocket (it rejects with {code, message} objects). */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && 'message' in err) {
    const e = err as { code?: unknown; message?: unknown };
    return `${String(e.message)}${e.code !== undefined ? ` (${String(e.code)})` : ''}`;
  }
  return String(err);
}
