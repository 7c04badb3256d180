/**
 * Credentials out of URLs before they are shown or logged (API, /healthz, the page, MQTT info, logs):
 * a userinfo password becomes `user:***`, and the values of password-like query parameters become `***`.
 * One function for every place, so they cannot disagree.
 */

/** Query parameters whose values are secrets (cameras put credentials there: ?user=admin&pwd=...). */
const SECRET_PARAM =
  /^(?:pwd|pw|pass|passwd|password|passphrase|token|access_token|auth|auth_token|authorization|key|api_key|apikey|secret|sig|signature|user|usr|username|login|loginuse|loginpas|session|sid)$/i;

function secretParam(rawName: string): boolean {
  let name = rawName;
  try {
    name = decodeURIComponent(rawName.replace(/\+/g, ' '));
  } catch {
    // A malformed escape: judge the raw name.
  }
  return SECRET_PARAM.test(name.trim());
}

/** `a=1&pwd=x` -> `a=1&pwd=***`, keeping every other byte as it was. */
function redactQuery(query: string): string {
  return query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      return secretParam(pair.slice(0, eq)) && eq < pair.length - 1 ? `${pair.slice(0, eq)}=***` : pair;
    })
    .join('&');
}

/**
 * A URL with its credentials masked: `http://admin:***@cam/stream?user=***&pwd=***`. Not a URL: the
 * text with any URLs in it masked.
 */
export function redactUrl(url: string | URL): string {
  const raw = String(url);
  const m = /^([a-z][a-z0-9+.-]{0,15}:\/\/)([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/is.exec(raw);
  if (!m) return raw;
  const [, scheme, authority = '', path = '', query, hash] = m;
  const at = authority.lastIndexOf('@');
  let auth = authority;
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    const colon = userinfo.indexOf(':');
    auth = `${colon >= 0 ? `${userinfo.slice(0, colon)}:***` : userinfo}@${authority.slice(at + 1)}`;
  }
  return `${scheme}${auth}${path}${query ? `?${redactQuery(query.slice(1))}` : ''}${hash ?? ''}`;
}

/** A request target (`/path?query`, as in req.url) with password-like query values masked (`?token=***`). */
export function redactTarget(target: string): string {
  const q = target.indexOf('?');
  if (q < 0) return target;
  const hash = target.indexOf('#', q);
  const query = hash < 0 ? target.slice(q + 1) : target.slice(q + 1, hash);
  return `${target.slice(0, q)}?${redactQuery(query)}${hash < 0 ? '' : target.slice(hash)}`;
}

// Bounded scheme and URL length: linear time on any input (no backtracking blow-up on untrusted text).
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]{0,15}:\/\/[^\s"'<>`]{1,4096}/gi;

/** Every URL inside free text (an error message, a log line) masked. */
export function redactText(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(URL_IN_TEXT, (u) => redactUrl(u));
}

/** A JSON.stringify replacer that passes every string through redactText (API and /healthz output). */
export function redactingReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'string' ? redactText(value) : value;
}
