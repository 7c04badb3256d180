/**
 * May a browser page at `origin` open the page socket? Only this bridge's own pages: the Origin's host
 * is the request's Host, or the host of http.public_url (a proxy that changes the Host). This stops
 * another site's page in the user's browser from driving the cameras with the user's cookie.
 */
export function originAllowed(origin: string, host: string | undefined, publicUrl: string | undefined): boolean {
  let o: URL;
  try {
    o = new URL(origin);
  } catch {
    return false;
  }
  if (host && o.host.toLowerCase() === host.toLowerCase()) return true;
  if (publicUrl) {
    try {
      return new URL(publicUrl).host.toLowerCase() === o.host.toLowerCase();
    } catch {
      return false;
    }
  }
  return false;
}
