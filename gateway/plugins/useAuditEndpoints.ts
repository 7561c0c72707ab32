/**
 * The trail's public, token-free endpoints (`text/plain`), for anyone who verifies the hub:
 *   GET /audit/checkpoint[?log=<origin>]  the latest signed checkpoint, exactly as signed
 *   GET /audit/key                        the verifier key in signed-note form (name+hash+key)
 * The default log is this instance's own.
 */
import type { Plugin } from 'graphql-yoga';
import { CHECKPOINTS_COLLECTION, type CheckpointDoc } from '../../audit/index.ts';
import type { HubRuntime } from '../runtime.ts';

const text = (body: string, status = 200) => new Response(body, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });

export function useAuditEndpoints(runtime: HubRuntime): Plugin {
  return {
    async onRequest({ url, request, endResponse }) {
      if (url.pathname !== '/audit/checkpoint' && url.pathname !== '/audit/key') return;
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        endResponse(text('Use GET.\n', 405));
        return;
      }
      if (url.pathname === '/audit/key') {
        endResponse(text(`${runtime.signer.verifierKey}\n`));
        return;
      }
      const own = runtime.audit.log;
      const log = url.searchParams.get('log') ?? own.origin;
      if (log.length > 300 || /[\n\r]/.test(log)) {
        endResponse(text('log must be a log origin (see hub audit logs).\n', 400));
        return;
      }
      try {
        if (log === own.origin && !own.latest) await own.checkpoint();
        const latest = log === own.origin && own.latest
          ? own.latest
          : await runtime.db.collection<CheckpointDoc>(CHECKPOINTS_COLLECTION)
            .find({ log }, { projection: { _id: 0 }, signal: AbortSignal.timeout(runtime.config.audit.deadlineMs) })
            .sort({ size: -1 }).limit(1).next();
        endResponse(latest ? text(latest.note) : text(`No checkpoint of log ${log}.\n`, 404));
      } catch {
        endResponse(text('The audit trail cannot be read now; try again later.\n', 503));
      }
    },
  };
}
