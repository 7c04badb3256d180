import express from 'express';
import { HttpError } from './errors.js';
import type { Handler } from './server.js';

/** The JSON bodies of the API and the page (commands, presets, pan/tilt) are small. */
export const JSON_BODY_LIMIT = 64 * 1024;
/** The login form. */
export const FORM_BODY_LIMIT = 8 * 1024;

const isJson = (req: { headers: { 'content-type'?: string | undefined } }) =>
  String(req.headers['content-type'] ?? '').includes('application/json');

/**
 * A JSON body into `req.body`, whatever the Content-Type (curl and fetch send text/plain), any JSON
 * value, at most `limit` bytes (413). Compressed bodies are refused (415). No body at all is a 400.
 */
export function jsonBody(limit = JSON_BODY_LIMIT): Handler[] {
  return [
    express.json({ limit, strict: false, inflate: false, type: () => true }) as unknown as Handler,
    (req, _res, next) => {
      if (req.body === undefined || req.headers['content-length'] === '0')
        throw new HttpError(400, 'expected a JSON body');
      next();
    },
  ];
}

/**
 * A login form into `req.body` as strings only: urlencoded, or JSON when the Content-Type says so
 * (the page's fetch). At most `limit` bytes.
 */
export function formBody(limit = FORM_BODY_LIMIT): Handler[] {
  return [
    express.json({ limit, strict: false, inflate: false, type: isJson }) as unknown as Handler,
    express.urlencoded({ limit, extended: false, inflate: false, type: (req) => !isJson(req) }) as unknown as Handler,
    (req, _res, next) => {
      const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, unknown>;
      req.body = Object.fromEntries(Object.entries(body).filter(([, v]) => typeof v === 'string'));
      next();
    },
  ];
}
