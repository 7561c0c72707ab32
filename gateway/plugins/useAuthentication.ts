/**
 * Bearer-token authentication, deny by default: a request without a known token gets
 * UNAUTHENTICATED (HTTP 401) and reaches no resolver.
 *
 * It runs when the request's parameters are known, before the document is parsed, in this order:
 * 1. the client address's failed authentications (limits.rate.failedAuth): spent → RATE_LIMITED,
 *    without a token lookup;
 * 2. the token lookup; an unknown token counts one failed authentication for the address;
 * 3. the request limits of the principal: per system and per token (limits.rate) → RATE_LIMITED
 *    (HTTP 429, Retry-After) before any parsing, validation, upstream call or audit write.
 */
import type { IncomingMessage } from 'node:http';
import type DataLoader from 'dataloader';
import type { Plugin } from 'graphql-yoga';
import type { UpstreamRecord } from '../../connectors/index.ts';
import type { Principal } from '../../policies/index.ts';
import type { HubContext } from '../context.ts';
import { hashToken } from '../credentials.ts';
import { hubError } from '../errors.ts';
import type { RateDecision, RateLimits } from '../limits/rateLimits.ts';
import type { HubRuntime } from '../runtime.ts';
import { requestIdOf } from './useRequestId.ts';

const principals = new WeakMap<Request, Principal>();

/** The principal authenticated for a request (set before parsing), if any. */
export function principalOf(request: Request): Principal | undefined {
  return principals.get(request);
}

/** The client's address as the socket sees it (IPv4-mapped IPv6 as plain IPv4). */
export function clientAddress(serverContext: unknown): string {
  const address = (serverContext as { req?: IncomingMessage } | undefined)?.req?.socket?.remoteAddress ?? 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

const BEARER = /^Bearer\s+(\S{16,256})$/i;

function rateError(decision: Exclude<RateDecision, { ok: true }>) {
  if ('unavailable' in decision) {
    return hubError('RATE_LIMIT_UNAVAILABLE', 'The hub cannot count requests right now, so it serves none. Try again in a few seconds.', { limit: decision.limit, http: { status: 503, headers: { 'Retry-After': '5' } } });
  }
  const what = decision.limit === 'failedAuth'
    ? `Too many failed authentications from this address (at most ${decision.points} per ${decision.durationSeconds} s)`
    : `Too many requests ${decision.limit === 'perSystem' ? 'from this system' : 'with this token'} (at most ${decision.points} per ${decision.durationSeconds} s)`;
  return hubError('RATE_LIMITED', `${what}. Retry after ${decision.retryAfterSeconds} s.`, {
    limit: decision.limit,
    retryAfterSeconds: decision.retryAfterSeconds,
    http: { status: 429, headers: { 'Retry-After': String(decision.retryAfterSeconds) } },
  });
}

export function useAuthentication(runtime: HubRuntime, rate?: RateLimits): Plugin<HubContext> {
  const authenticate = async (request: Request): Promise<Principal | null> => {
    try {
      return await runtime.authenticator.authenticate(request.headers.get('authorization'));
    } catch (error) {
      runtime.logger.error({ requestId: requestIdOf(request), err: error instanceof Error ? error.message : String(error) }, 'token look-up failed');
      throw hubError('AUDIT_UNAVAILABLE', 'The hub cannot reach its database, so no data is served. Try again later.', { http: { status: 503 } });
    }
  };
  return {
    async onParams({ request, context }) {
      const requestId = requestIdOf(request);
      const address = clientAddress(context);
      if (rate) {
        const blocked = await rate.addressBlocked(address);
        if (!blocked.ok) {
          runtime.logger.warn({ requestId, address, limit: blocked.limit }, 'request refused: too many failed authentications from this address');
          throw rateError(blocked);
        }
      }
      const principal = await authenticate(request);
      if (!principal) {
        await rate?.authenticationFailed(address);
        runtime.logger.info({ requestId, address }, 'request refused: missing or unknown bearer token');
        throw hubError('UNAUTHENTICATED', 'A valid bearer token is required (Authorization: Bearer <token>). Ask the platform operator for one.');
      }
      if (rate?.limitsRequests) {
        const token = BEARER.exec(request.headers.get('authorization')!.trim())![1]!;
        const decision = await rate.admit(principal, hashToken(token));
        if (!decision.ok) {
          runtime.logger.warn({ requestId, principal: principal.id, kind: principal.kind, limit: decision.limit }, 'request refused: rate limit');
          throw rateError(decision);
        }
      }
      principals.set(request, principal);
    },
    async onContextBuilding({ context, extendContext }) {
      const requestId = requestIdOf(context.request);
      const principal = principals.get(context.request) ?? await authenticate(context.request);
      if (!principal) {
        runtime.logger.info({ requestId }, 'request refused: missing or unknown bearer token');
        throw hubError('UNAUTHENTICATED', 'A valid bearer token is required (Authorization: Bearer <token>). Ask the platform operator for one.');
      }
      const extension: HubContext = {
        runtime,
        principal,
        requestId,
        loaders: new Map<string, DataLoader<string, UpstreamRecord | null>>(),
        subjectHashes: new Map(),
        quotaLoaders: new Map(),
        disputed: [],
        signal: context.request.signal,
        deadline: Date.now() + runtime.config.limits.upstreamDeadlineMs,
      };
      extendContext(extension);
    },
  };
}
