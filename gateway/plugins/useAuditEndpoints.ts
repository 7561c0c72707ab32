/**
 * The trail's public, token-free endpoints (`text/plain`), for anyone who verifies the hub:
 *   GET /audit/checkpoint[?log=<origin>]  the latest signed checkpoint, exactly as signed
 *   GET /audit/key                        the verifier key in signed-note form (name+hash+key)
 * The default log is this instance's own. And, for auditors (an auditor's or admin's credential, as
 * for GraphQL: token, console session; failed attempts count against the address like any other):
 *   GET /audit/export?format=jsonl|csv[&log=<origin>]   the trail, streamed (JSONL verifies offline)
 */
import type { Plugin } from 'graphql-yoga';
import { appendAdmin, CHECKPOINTS_COLLECTION, exportTrail, type CheckpointDoc } from '../../audit/index.ts';
import { managementAbility, type Principal } from '../../policies/index.ts';
import type { Identifier } from '../identity/identify.ts';
import type { RateLimits } from '../limits/rateLimits.ts';
import type { HubRuntime } from '../runtime.ts';
import { clientAddress } from '../identity/client-address.ts';

const text = (body: string, status = 200) => new Response(body, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });

export function useAuditEndpoints(runtime: HubRuntime, identify: Identifier, rate?: RateLimits): Plugin {
  /** The auditor of an export request, or the refusal to answer with. */
  const exporter = async (request: Request, serverContext: unknown): Promise<Principal | Response> => {
    const address = clientAddress(serverContext);
    if (rate && !(await rate.addressBlocked(address)).ok) return text('Too many failed authentications from this address; try again later.\n', 429);
    try {
      const outcome = await identify(request, serverContext);
      if (outcome.ok) return outcome.identity.principal;
      if ('unavailable' in outcome) return text('The credential cannot be checked right now; try again later.\n', 503);
    } catch {
      return text('The hub cannot reach its database; try again later.\n', 503);
    }
    await rate?.authenticationFailed(address);
    return text('A valid auditor credential is required (Authorization: Bearer <token>).\n', 401);
  };
  return {
    async onRequest({ url, request, endResponse, serverContext }) {
      if (url.pathname === '/audit/export') {
        const principal = await exporter(request, serverContext);
        endResponse(principal instanceof Response ? principal : await exportResponse(runtime, principal, url));
        return;
      }
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

async function exportResponse(runtime: HubRuntime, principal: Principal, url: URL): Promise<Response> {
  if (!managementAbility(principal).can('read', 'AuditTrail')) return text('Only auditors and the platform operator may export the trail.\n', 403);
  const format = url.searchParams.get('format') ?? 'jsonl';
  if (format !== 'jsonl' && format !== 'csv') return text('format must be jsonl or csv.\n', 400);
  const log = url.searchParams.get('log') ?? undefined;
  await appendAdmin(runtime.db, { actor: principal.id, role: principal.kind, department: principal.department || null, action: 'audit.export', target: log ?? 'all', after: { format } });
  const encoder = new TextEncoder();
  const lines = exportTrail(runtime.db, format, log);
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await lines.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(next.value));
    },
    async cancel() {
      await lines.return(undefined);
    },
  });
  return new Response(body, {
    headers: {
      'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      'content-disposition': `attachment; filename="audit-trail.${format}"`,
    },
  });
}
