import compression from 'compression';
import type { Handler } from './server.js';

/** Gzip for responses worth it (the page's files): the compression middleware, typed for our Router. */
export function gzip(): Handler {
  return compression() as unknown as Handler;
}
