/**
 * Authentication, deny by default: a request without an acceptable credential gets
 * UNAUTHENTICATED (HTTP 401) and reaches no resolver. Credentials: a console session, a client
 * certificate bound to a system (mutual TLS), a department identity provider's JWT, or a hub token
 * (gateway/identity/identify.ts).
 *
 * It runs when the request's parameters are known, before the document is parsed, in this order:
 * 1. the client address's failed authentications (limits.rate.failedAuth): spent → RATE_LIMITED,
 *    without a credential check;
 * 2. the credential check; an unacceptable credential counts one failed authentication for the address;
 * 3. the request limits of the principal: per system and per credential (limits.rate) → RATE_LIMITED
 *    (HTTP 429, Retry-After) before any parsing, validation, upstream call or audit write.
 */
import type DataLoader from 'dataloader';
import type { Plugin } from 'graphql-yoga';
import type { UpstreamRecord } from '../../connectors/index.ts';
import type { Principal } from '../../policies/index.ts';
import type { HubContext } from '../context.ts';
import { hubError } from '../errors.ts';
import { clientAddress } from '../identity/client-address.ts';
import type { Identifier } from '../identity/identify.ts';
import type { RequestIdentity } from '../identity/request-identity.ts';
import type { RateDecision, RateLimits } from '../limits/rateLimits.ts';
import type { HubRuntime } from '../runtime.ts';
import { requestIdOf } from './useRequestId.ts';

const identities = new WeakMap<Request, RequestIdentity>();

/** The principal authenticated for a request (set before parsing), if any. */
export function principalOf(request: Request): Principal | undefined {
  return identities.get(request)?.principal;
}


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

const unauthenticated = (reason: string) =>
  hubError('UNAUTHENTICATED', `Not authenticated: ${reason}. A department system sends its bearer token (Authorization: Bearer <token>), its identity provider's JWT, or its client certificate; ask the platform operator for one.`);

export function useAuthentication(runtime: HubRuntime, identify: Identifier, rate?: RateLimits): Plugin<HubContext> {
  /** The identity of a request, or the error to answer with (after counting a failed authentication). */
  const authenticate = async (request: Request, serverContext: unknown, address: string): Promise<RequestIdentity> => {
    const requestId = requestIdOf(request);
    let outcome;
    try {
      outcome = await identify(request, serverContext);
    } catch (error) {
      runtime.logger.error({ requestId, err: error instanceof Error ? error.message : String(error) }, 'token look-up failed');
      throw hubError('AUDIT_UNAVAILABLE', 'The hub cannot reach its database, so no data is served. Try again later.', { http: { status: 503 } });
    }
    if (outcome.ok) return outcome.identity;
    if ('unavailable' in outcome) {
      runtime.logger.warn({ requestId, reason: outcome.unavailable }, 'request refused: a credential could not be checked');
      throw hubError('IDENTITY_PROVIDER_UNAVAILABLE', `The credential cannot be checked right now: ${outcome.unavailable}. Try again later.`, { http: { status: 503, headers: { 'Retry-After': '5' } } });
    }
    await rate?.authenticationFailed(address);
    runtime.logger.info({ requestId, address, reason: outcome.reason }, 'request refused: not authenticated');
    throw unauthenticated(outcome.reason);
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
      const identity = await authenticate(request, context, address);
      if (rate?.limitsRequests) {
        const { principal } = identity;
        const decision = await rate.admit(principal, identity.credentialKey);
        if (!decision.ok) {
          runtime.logger.warn({ requestId, principal: principal.id, kind: principal.kind, limit: decision.limit }, 'request refused: rate limit');
          throw rateError(decision);
        }
      }
      identities.set(request, identity);
    },
    async onContextBuilding({ context, extendContext }) {
      const requestId = requestIdOf(context.request);
      const identity = identities.get(context.request) ?? await authenticate(context.request, context, clientAddress(context));
      const extension: HubContext = {
        runtime,
        principal: identity.principal,
        credential: identity.via,
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
