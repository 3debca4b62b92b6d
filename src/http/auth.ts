/** Bearer-token check in constant time (hash both sides so lengths do not leak either). */
import { createHash, timingSafeEqual } from 'node:crypto';

export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  const given = createHash('sha256')
    .update(m?.[1] ?? '')
    .digest();
  const expected = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, expected) && m !== null;
}

/**
 * For pages a browser opens (the queue board): HTTP Basic with the token as the password (any
 * user name), since a browser cannot add a bearer header to a link; it asks once and keeps it.
 */
export function basicMatches(header: string | undefined, token: string): boolean {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  const decoded = m ? Buffer.from(m[1] as string, 'base64').toString('utf8') : '';
  const password = decoded.includes(':') ? decoded.slice(decoded.indexOf(':') + 1) : '';
  const given = createHash('sha256').update(password).digest();
  const expected = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, expected) && m !== null && decoded.includes(':');
}
