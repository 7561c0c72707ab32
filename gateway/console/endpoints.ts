/**
 * The console's session endpoints (JSON in, JSON out; errors as `{ error: { code, message } }`):
 *   GET    /console/session        who is logged in, the CSRF token, the demo log-ins offered
 *   POST   /console/session        { "token": "<the role's token>" } → opens a session, sets the cookie
 *   POST   /console/session/demo   { "role": "officer" | "auditor" | "admin" } (hub demo only)
 *   DELETE /console/session        logs out (X-CSRF-Token required)
 * Only data officers, auditors and the platform operator may log in: department systems and the
 * citizen portal are machines and keep using their tokens. Failed log-ins count against the
 * address like failed bearer tokens (limits.rate.failedAuth). Tokens and session ids are never logged.
 */
import type { Principal } from '../../policies/index.ts';
import { hashToken } from '../credentials.ts';
import type { RateLimits } from '../limits/rateLimits.ts';
import type { HubRuntime } from '../runtime.ts';
import { demoRoles, demoToken, DEMO_ROLES, type DemoRole } from './demo-logins.ts';
import { sameSecret, type Session, type SessionStore } from './sessions.ts';

export const COOKIE = 'ywgx_console';
export const CSRF_HEADER = 'x-csrf-token';
const CONSOLE_KINDS: ReadonlySet<Principal['kind']> = new Set(['officer', 'auditor', 'admin']);
const MAX_BODY = 4096;

export interface EndpointContext {
  readonly runtime: HubRuntime;
  readonly sessions: SessionStore;
  readonly rate?: RateLimits | undefined;
  /** The client's address (for failed log-in limits and logs). */
  readonly address: string;
  /** Whether the hub is served over TLS (the cookie is then Secure). */
  readonly secure: boolean;
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers } });
}

export const failure = (status: number, code: string, message: string, headers: Record<string, string> = {}) => json({ error: { code, message } }, status, headers);

export function sessionCookie(id: string, secure: boolean): string {
  return `${COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

export function clearedCookie(secure: boolean): string {
  return `${COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
}

/** The session id in a Cookie header, if any. */
export function sessionIdOf(request: Request): string | undefined {
  const header = request.headers.get('cookie');
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A cross-origin request (an Origin header that is not the hub's own) is refused. */
export function foreignOrigin(request: Request, url: URL): boolean {
  const origin = request.headers.get('origin');
  return origin !== null && origin !== url.origin;
}

function describe(runtime: HubRuntime, session: Session) {
  const { principal } = session;
  return {
    authenticated: true,
    principal: { kind: principal.kind, id: principal.id, department: principal.department, departmentName: runtime.departments.get(principal.department) ?? null },
    csrfToken: session.csrf,
    expiresAt: session.expiresAt.toISOString(),
    idleUntil: session.idleUntil.toISOString(),
    // Days (grant periods, statistics, anomaly flags) follow the deployment's calendar, not the browser's.
    timeZone: runtime.config.timeZone,
    demo: demoRoles(runtime),
  };
}

async function readJson(request: Request): Promise<Record<string, unknown> | Response> {
  const type = request.headers.get('content-type') ?? '';
  // A cross-site form cannot send application/json without a CORS preflight, which the hub never grants.
  if (!/^application\/json\b/i.test(type)) return failure(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json.');
  const length = Number(request.headers.get('content-length') ?? '0');
  if (length > MAX_BODY) return failure(413, 'BODY_TOO_LARGE', `The body may be at most ${MAX_BODY} bytes.`);
  let text: string;
  try {
    text = await request.text();
  } catch {
    return failure(400, 'BAD_REQUEST', 'The body could not be read.');
  }
  if (text.length > MAX_BODY) return failure(413, 'BODY_TOO_LARGE', `The body may be at most ${MAX_BODY} bytes.`);
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return failure(400, 'BAD_REQUEST', 'The body must be a JSON object.');
    return value as Record<string, unknown>;
  } catch {
    return failure(400, 'BAD_REQUEST', 'The body is not valid JSON.');
  }
}

/** Handles /console/session and /console/session/demo. */
export async function sessionEndpoint(ctx: EndpointContext, request: Request, url: URL): Promise<Response> {
  const { runtime, sessions } = ctx;
  const demo = url.pathname === '/console/session/demo';
  try {
    if (foreignOrigin(request, url)) return failure(403, 'FOREIGN_ORIGIN', 'Requests from another site are refused.');
    if (!demo && request.method === 'GET') {
      const id = sessionIdOf(request);
      const session = id ? await sessions.find(id) : null;
      if (session) return json(describe(runtime, session));
      return json({ authenticated: false, demo: demoRoles(runtime) }, 200, id ? { 'set-cookie': clearedCookie(ctx.secure) } : {});
    }
    if (!demo && request.method === 'DELETE') {
      const id = sessionIdOf(request);
      const session = id ? await sessions.find(id) : null;
      if (session) {
        if (!sameSecret(request.headers.get(CSRF_HEADER) ?? '', session.csrf)) return failure(403, 'CSRF_REJECTED', `Log-out needs the session's ${CSRF_HEADER} header.`);
        await sessions.close(id!);
        runtime.logger.info({ principal: session.principal.id, kind: session.principal.kind }, 'console: logged out');
      }
      return json({ authenticated: false, demo: demoRoles(runtime) }, 200, { 'set-cookie': clearedCookie(ctx.secure) });
    }
    if (request.method !== 'POST') return failure(405, 'METHOD_NOT_ALLOWED', demo ? 'Use POST.' : 'Use GET, POST or DELETE.', { allow: demo ? 'POST' : 'GET, POST, DELETE' });

    const body = await readJson(request);
    if (body instanceof Response) return body;
    let token: string;
    if (demo) {
      const role = body['role'];
      if (typeof role !== 'string' || !DEMO_ROLES.includes(role as DemoRole)) return failure(400, 'BAD_REQUEST', `role must be one of ${DEMO_ROLES.join(', ')}.`);
      const offered = demoToken(runtime, role as DemoRole);
      if (!offered) return failure(404, 'NO_DEMO_LOGIN', 'One-click log-in exists only on the demo hub (npm start). Log in with your token.');
      token = offered;
    } else {
      const given = body['token'];
      if (typeof given !== 'string' || !/^\S{16,256}$/.test(given.trim())) return failure(400, 'BAD_REQUEST', 'token must be the token you were issued (16 to 256 characters, no spaces).');
      token = given.trim();
    }

    if (ctx.rate) {
      const blocked = await ctx.rate.addressBlocked(ctx.address);
      if (!blocked.ok) {
        const retry = 'retryAfterSeconds' in blocked ? String(blocked.retryAfterSeconds) : '5';
        return failure(429, 'RATE_LIMITED', `Too many failed log-ins from this address. Retry after ${retry} s.`, { 'retry-after': retry });
      }
    }
    const principal = await runtime.authenticator.authenticateToken(token);
    if (!principal) {
      await ctx.rate?.authenticationFailed(ctx.address);
      runtime.logger.info({ address: ctx.address }, 'console: log-in refused (unknown or revoked token)');
      return failure(401, 'INVALID_TOKEN', 'This token is unknown or was revoked. Ask the platform operator for a valid one.');
    }
    if (!CONSOLE_KINDS.has(principal.kind)) {
      runtime.logger.info({ principal: principal.id, kind: principal.kind }, 'console: log-in refused (role)');
      return failure(403, 'ROLE_NOT_ALLOWED', 'The console is for data officers, auditors and the platform operator. Department systems and the portal use the API with their token.');
    }
    const { id, session } = await sessions.open(principal, hashToken(token));
    runtime.logger.info({ principal: principal.id, kind: principal.kind, demo }, 'console: logged in');
    return json(describe(runtime, session), 200, { 'set-cookie': sessionCookie(id, ctx.secure) });
  } catch (error) {
    runtime.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'console: session endpoint failed');
    return failure(503, 'UNAVAILABLE', 'The hub cannot reach its database right now. Try again shortly.');
  }
}
