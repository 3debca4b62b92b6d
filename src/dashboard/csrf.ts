/**
 * CSRF protection for state-changing requests made with the session cookie. Three layers:
 * - the cookie is SameSite=Strict, so a browser does not attach it to a request another site
 *   starts;
 * - a synchronizer token: HMAC of the session id under the session key, written into each page
 *   (<meta name="csrf-token">) and sent back by the dashboard's script in `X-CSRF-Token`. Another
 *   site cannot read it, and a plain HTML form cannot set a header;
 * - the Origin (or, without one, Referer) header, when the browser sends it, must be this host.
 * A request that fails any of these is refused with 403 before it reaches a route.
 */
import type { IncomingMessage } from 'node:http';
import { isSecure, sameText, type Session, type SessionKeys } from './session.js';

export const CSRF_HEADER = 'x-csrf-token';

export function csrfToken(keys: SessionKeys, session: Session): string {
  return keys.sign(`csrf:${session.id}`);
}

export function csrfTokenMatches(keys: SessionKeys, session: Session, given: string | undefined): boolean {
  return typeof given === 'string' && given.length > 0 && sameText(given, csrfToken(keys, session));
}

/** GET, HEAD and OPTIONS change nothing here; everything else needs the checks. */
export function isStateChanging(method: string | undefined): boolean {
  return !['GET', 'HEAD', 'OPTIONS'].includes(method ?? 'GET');
}

/**
 * True when the request names no other origin: Origin (or Referer) is absent or is this
 * server's own scheme://host. Host comes from the request; behind a proxy it must pass Host on.
 */
export function sameOrigin(req: IncomingMessage): boolean {
  const claimed = headerOne(req.headers.origin) ?? headerOne(req.headers.referer);
  if (claimed === undefined) return true;
  if (claimed === 'null') return false;
  let url: URL;
  try {
    url = new URL(claimed);
  } catch {
    return false;
  }
  const host = headerOne(req.headers['x-forwarded-host']) ?? headerOne(req.headers.host);
  const scheme = isSecure(req) ? 'https:' : 'http:';
  return host !== undefined && url.host === host && (url.protocol === scheme || url.protocol === 'https:');
}

function headerOne(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
