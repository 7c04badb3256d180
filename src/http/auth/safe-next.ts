/**
 * Only same-site paths after login: no open redirect to another host. A path starting with one `/`
 * whose second character is neither `/` nor `\\`, without control characters, also once decoded
 * (`/%09/evil-host` is `/<tab>/evil-host`, which browsers read as `//evil-host`). Anything else is `/`.
 */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || next.length > 2048) return '/';
  let decoded: string;
  try {
    decoded = decodeURIComponent(next);
  } catch {
    return '/';
  }
  for (const s of [next, decoded]) {
    if (s[0] !== '/' || s[1] === '/' || s[1] === '\\' || /\p{Cc}/u.test(s)) return '/';
  }
  if (next.startsWith('/login')) return '/';
  // What the browser will resolve it to must stay on this origin.
  try {
    if (new URL(next, 'http://cam2mqtt.invalid').host !== 'cam2mqtt.invalid') return '/';
  } catch {
    return '/';
  }
  return next;
}
