/**
 * The web console (README "The web console"): serves its static files under
 * /console/, its session endpoints under /console/session, and turns a console session cookie into
 * the request's identity for /graphql and /audit/export, so the console is a plain client of the
 * management and auditor APIs and every rule stays enforced by them.
 *
 * A request that carries the session cookie (and no Authorization header) must also carry the
 * session's CSRF token in X-CSRF-Token, and, when it has an Origin header, come from the hub's own
 * origin; the cookie is SameSite=Strict and HttpOnly besides. Register this plugin before
 * useAuditEndpoints and useAuthentication: it sets the identity in onRequest.
 */
import type { Plugin } from 'graphql-yoga';
import type { RateLimits } from '../limits/rateLimits.ts';
import type { HubRuntime } from '../runtime.ts';
import { setRequestIdentity } from '../identity/request-identity.ts';
import { clearedCookie, CSRF_HEADER, foreignOrigin, json, sessionEndpoint, sessionIdOf } from '../console/endpoints.ts';
import { SessionStore, sameSecret, type SessionOptions } from '../console/sessions.ts';
import { notBuilt, staticFiles } from '../console/static.ts';
import { clientAddress } from '../identity/client-address.ts';

export interface ConsoleOptions extends Partial<SessionOptions> {
  /** Serve the console and accept session cookies (default true). */
  readonly enabled?: boolean;
  /** The failed-authentication limits shared with bearer tokens. */
  readonly rate?: RateLimits;
  /** The built console (default console/dist). */
  readonly dist?: string;
}

/** Paths where a session cookie stands for the caller. */
const SESSION_PATHS: ReadonlySet<string> = new Set(['/graphql', '/audit/export']);

const graphqlError = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
  json({ errors: [{ message, extensions: { code } }] }, status, headers);

export function useConsole(runtime: HubRuntime, options: ConsoleOptions = {}): Plugin {
  if (options.enabled === false) return {};
  const sessions = new SessionStore(runtime.db, options);
  const files = staticFiles(options.dist);
  void files.built().then((built) => {
    if (!built) runtime.logger.warn('the web console is not built: /console answers 503 until `npm run build:console` has run');
  });
  return {
    async onRequest({ request, url, endResponse, serverContext }) {
      const secure = Boolean(runtime.config.server.tls) || url.protocol === 'https:';
      const path = url.pathname;
      if (path === '/console/session' || path === '/console/session/demo') {
        endResponse(await sessionEndpoint({ runtime, sessions, rate: options.rate, address: clientAddress(serverContext), secure }, request, url));
        return;
      }
      if (path === '/console') {
        endResponse(new Response(null, { status: 308, headers: { location: '/console/' } }));
        return;
      }
      if (path.startsWith('/console/')) {
        if (request.method !== 'GET' && request.method !== 'HEAD') {
          endResponse(new Response('Use GET.\n', { status: 405, headers: { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' } }));
          return;
        }
        endResponse(await files.serve(path.slice('/console/'.length), request).catch(() => notBuilt()));
        return;
      }
      if (!SESSION_PATHS.has(path) || request.headers.has('authorization')) return;
      const id = sessionIdOf(request);
      if (id === undefined) return;
      let session;
      try {
        session = await sessions.find(id);
      } catch (error) {
        runtime.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'console: session look-up failed');
        endResponse(graphqlError(503, 'AUDIT_UNAVAILABLE', 'The hub cannot reach its database, so no data is served. Try again later.'));
        return;
      }
      if (!session) {
        endResponse(graphqlError(401, 'UNAUTHENTICATED', 'Your console session has ended (logged out, timed out, or its token was revoked). Log in again.', { 'set-cookie': clearedCookie(secure) }));
        return;
      }
      if (!sameSecret(request.headers.get(CSRF_HEADER) ?? '', session.csrf) || foreignOrigin(request, url)) {
        runtime.logger.warn({ principal: session.principal.id, path }, 'console: request refused (CSRF token or origin)');
        endResponse(graphqlError(403, 'CSRF_REJECTED', `A request with the console's session cookie needs the session's ${CSRF_HEADER} header and the hub's own origin.`));
        return;
      }
      setRequestIdentity(request, { principal: session.principal, via: 'session', credentialKey: session.tokenHash });
    },
  };
}
