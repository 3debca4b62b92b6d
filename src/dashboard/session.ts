/**
 * Dashboard sessions: a person logs in once with the API token and the browser then holds an
 * HttpOnly, SameSite=Strict cookie (Secure behind TLS), never the token itself.
 *
 * The cookie is stateless and signed: `v1.<expires ms>.<session id>.<user, base64url>.<HMAC>`,
 * keyed by a key derived from the API token. So every `serve` replica with the same token
 * accepts it, a restart keeps people logged in, and rotating the token logs everyone out. The
 * token cannot be recovered from the cookie (the key is an HMAC of it).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** `__Host-` pins the cookie to this host and path / (browsers accept it only with Secure). */
const SECURE_COOKIE = '__Host-nightshift';
const PLAIN_COOKIE = 'nightshift_session';

export interface Session {
  readonly id: string;
  /** Who the person said they are at login: recorded as `by` on approvals and promotions. */
  readonly user: string;
  readonly expiresAt: number;
}

export class SessionKeys {
  private readonly key: Buffer;
  constructor(token: string) {
    this.key = createHmac('sha256', token).update('nightshift dashboard session v1').digest();
  }

  /** HMAC under the session key, for the cookie and the CSRF token. */
  sign(text: string): string {
    return createHmac('sha256', this.key).update(text).digest('base64url');
  }

  issue(user: string, now = Date.now()): { session: Session; value: string } {
    const session: Session = { id: randomBytes(18).toString('base64url'), user, expiresAt: now + SESSION_TTL_MS };
    const body = `v1.${session.expiresAt}.${session.id}.${Buffer.from(user, 'utf8').toString('base64url')}`;
    return { session, value: `${body}.${this.sign(body)}` };
  }

  verify(value: string | undefined, now = Date.now()): Session | undefined {
    if (!value) return undefined;
    const m = /^(v1\.(\d{1,15})\.([A-Za-z0-9_-]{24})\.([A-Za-z0-9_-]{0,300}))\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (!m) return undefined;
    const [, body, expires, id, user, mac] = m as unknown as [string, string, string, string, string, string];
    if (!sameText(mac, this.sign(body))) return undefined;
    if (Number(expires) <= now) return undefined;
    return { id, user: Buffer.from(user, 'base64url').toString('utf8'), expiresAt: Number(expires) };
  }
}

/** Constant-time comparison of two strings (hashed first, so lengths do not leak either). */
export function sameText(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** Served over TLS, directly or behind a proxy that says so. */
export function isSecure(req: IncomingMessage): boolean {
  const tls = (req.socket as { encrypted?: boolean }).encrypted === true;
  const proto = String(req.headers['x-forwarded-proto'] ?? '')
    .split(',')[0]
    ?.trim()
    .toLowerCase();
  return tls || proto === 'https';
}

export function cookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const piece of (req.headers.cookie ?? '').split(';')) {
    const i = piece.indexOf('=');
    if (i > 0) out.set(piece.slice(0, i).trim(), piece.slice(i + 1).trim());
  }
  return out;
}

export function sessionCookieValue(req: IncomingMessage): string | undefined {
  const c = cookies(req);
  return c.get(SECURE_COOKIE) ?? c.get(PLAIN_COOKIE);
}

export function setSessionCookie(req: IncomingMessage, value: string): string {
  const secure = isSecure(req);
  const name = secure ? SECURE_COOKIE : PLAIN_COOKIE;
  return `${name}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(SESSION_TTL_MS / 1000)}${secure ? '; Secure' : ''}`;
}

export function clearSessionCookies(req: IncomingMessage): string[] {
  const secure = isSecure(req);
  return [
    `${PLAIN_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`,
    ...(secure ? [`${SECURE_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure`] : []),
  ];
}
