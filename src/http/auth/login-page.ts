/** The login form: self-contained (inline style, no script) because it is served before any login. */

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export const LOGIN_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export function loginPage(opts: { tokenOnly: boolean; next: string; error?: string; username?: string }): string {
  const fields = opts.tokenOnly
    ? `<label>Access token<input name="token" type="password" autocomplete="current-password" required autofocus></label>`
    : `<label>Username<input name="username" autocomplete="username" required value="${esc(opts.username ?? '')}"${opts.username ? '' : ' autofocus'}></label>
      <label>Password<input name="password" type="password" autocomplete="current-password" required${opts.username ? ' autofocus' : ''}></label>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="dark">
<title>cam2mqtt · sign in</title>
<style>
  :root { color-scheme: dark; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: #0d1014; color: #e6e9ee; }
  form { width: min(340px, 90vw); background: #161b22; border: 1px solid #2a313b; border-radius: 12px; padding: 28px; box-shadow: 0 10px 40px #0008; }
  h1 { margin: 0 0 4px; font-size: 20px; letter-spacing: .02em; }
  h1 b { color: #4aa3ff; }
  p.sub { margin: 0 0 20px; color: #8b95a3; font-size: 13px; }
  label { display: block; font-size: 13px; color: #aab3bf; margin: 0 0 14px; }
  input { display: block; width: 100%; box-sizing: border-box; margin-top: 6px; padding: 10px 12px; font: inherit; font-size: 15px;
    color: #e6e9ee; background: #0d1014; border: 1px solid #2f3843; border-radius: 8px; outline: none; }
  input:focus { border-color: #4aa3ff; box-shadow: 0 0 0 3px #4aa3ff33; }
  button { width: 100%; margin-top: 6px; padding: 11px; font: inherit; font-weight: 600; color: #fff; background: #2f81f7; border: 0; border-radius: 8px; cursor: pointer; }
  button:hover { background: #4a94ff; }
  .error { margin: 0 0 16px; padding: 9px 12px; border-radius: 8px; background: #3d1418; border: 1px solid #842029; color: #ffb3b8; font-size: 14px; }
</style>
</head>
<body>
<form method="post" action="login">
  <h1><b>cam2mqtt</b></h1>
  <p class="sub">Sign in to see your cameras.</p>
  ${opts.error ? `<p class="error" role="alert">${esc(opts.error)}</p>` : ''}
  ${fields}
  <input type="hidden" name="next" value="${esc(opts.next)}">
  <button type="submit">Sign in</button>
</form>
</body>
</html>
`;
}
