/**
 * Bearer-token authentication, deny by default: a request without a known token gets
 * UNAUTHENTICATED (HTTP 401) and reaches no resolver.
 */
import type DataLoader from 'dataloader';
import type { Plugin } from 'graphql-yoga';
import type { UpstreamRecord } from '../../connectors/index.ts';
import type { HubContext } from '../context.ts';
import { hubError } from '../errors.ts';
import type { HubRuntime } from '../runtime.ts';
import { requestIdOf } from './useRequestId.ts';

export function useAuthentication(runtime: HubRuntime): Plugin<HubContext> {
  return {
    async onContextBuilding({ context, extendContext }) {
      const requestId = requestIdOf(context.request);
      let principal;
      try {
        principal = await runtime.authenticator.authenticate(context.request.headers.get('authorization'));
      } catch (error) {
        runtime.logger.error({ requestId, err: error instanceof Error ? error.message : String(error) }, 'token look-up failed');
        throw hubError('AUDIT_UNAVAILABLE', 'The hub cannot reach its database, so no data is served. Try again later.', { http: { status: 503 } });
      }
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
