/**
 * Trusted documents (gateway/limits/trustedDocuments.ts): after authentication, before parsing.
 * A hash-only request gets its registered text; an operation not registered for the system is
 * logged (`log`) or refused with OPERATION_NOT_TRUSTED (`enforce`). Logs carry the hash, never the
 * text (a document may hold identity numbers).
 */
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import { hubError } from '../errors.ts';
import { documentHash, type TrustedDocuments, type TrustedMode } from '../limits/trustedDocuments.ts';
import { principalOf } from './useAuthentication.ts';
import { requestIdOf } from './useRequestId.ts';

function persistedHash(extensions: Record<string, unknown> | undefined): string | undefined {
  const persisted = extensions?.['persistedQuery'];
  if (typeof persisted !== 'object' || persisted === null) return undefined;
  const hash = (persisted as Record<string, unknown>)['sha256Hash'];
  return typeof hash === 'string' ? hash.toLowerCase() : undefined;
}

/** `documents` is asked on every request: a reload (SIGHUP) swaps what it returns. */
export function useTrustedDocuments(mode: TrustedMode, current: () => TrustedDocuments, logger: Logger): Plugin {
  return {
    onParams({ request, params, setParams }) {
      const documents = current();
      const principal = principalOf(request);
      if (mode === 'off' || principal?.kind !== 'system') return;
      const sentHash = persistedHash(params.extensions);
      let hash: string;
      if (params.query) {
        hash = documentHash(params.query);
        if (sentHash !== undefined && sentHash !== hash) {
          throw hubError('BAD_USER_INPUT', 'extensions.persistedQuery.sha256Hash is not the SHA-256 of the query text sent.');
        }
      } else if (sentHash !== undefined) {
        const text = documents.text(sentHash);
        if (text === undefined) {
          throw hubError('PERSISTED_QUERY_NOT_FOUND', `No registered operation has the hash ${sentHash.slice(0, 64)}. Send the full text, or ask the platform operator to register it.`);
        }
        hash = sentHash;
        setParams({ ...params, query: text });
      } else {
        return; // no query at all: yoga answers that one
      }
      if (documents.allowed(principal.id, hash)) return;
      const entry = { requestId: requestIdOf(request), system: principal.id, hash, mode };
      if (mode === 'log') {
        logger.warn(entry, 'operation not registered for this system (trustedDocuments.mode log: served)');
        return;
      }
      logger.warn(entry, 'request refused: operation not registered for this system');
      throw hubError('OPERATION_NOT_TRUSTED', `This operation (SHA-256 ${hash}) is not registered for system ${principal.id}. Ask the platform operator to register it in the trusted documents.`, { hash });
    },
  };
}
