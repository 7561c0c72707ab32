/**
 * Per-request observability: exactly one log line per request (request id, operation, outcome,
 * status, duration, refusal codes), the GraphQL request metrics, the `hub.request` span (parent of
 * the policy, connector and audit spans), and `GET /metrics` for Prometheus.
 *
 * Outcome of a GraphQL request: `ok` (no errors), `partial` (data with some field errors),
 * `refused` (errors and no data: unauthenticated, invalid, every field refused), `rejected` (refused
 * before GraphQL ran: body too large, wrong method …; see `status`).
 *
 * `/metrics` needs `Authorization: Bearer <token>`, the token read from `metrics.tokenEnv` at start;
 * without one configured it refuses every scrape (secure by default: metrics name grants and systems).
 * The log line holds no query text, variables, subject keys or tokens.
 */
import { SpanStatusCode, trace, ROOT_CONTEXT, type Span } from '@opentelemetry/api';
import { getOperationAST, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { HubContext } from '../context.ts';
import { MIN_SCRAPE_TOKEN } from '../observability/metrics.ts';
import type { HubRuntime } from '../runtime.ts';
import { requestIdOf } from './useRequestId.ts';

interface RequestState {
  readonly started: number;
  readonly span: Span | undefined;
  operation: string | null;
  principal: { kind: string; id: string; department: string } | undefined;
  result: ExecutionResult | undefined;
}

const OPERATION_HEAD = /^\s*(?:query|mutation|subscription)\s+([A-Za-z_][A-Za-z0-9_]*)/;
const QUIET = new Set(['/health', '/ready', '/metrics']);

function outcomeOf(state: RequestState): { outcome: string; codes: string[] } {
  const result = state.result;
  if (!result) return { outcome: 'rejected', codes: [] };
  const errors = result.errors ?? [];
  const codes = [...new Set(errors.map((e) => (typeof e.extensions?.['code'] === 'string' ? e.extensions['code'] : 'INTERNAL_SERVER_ERROR')))].slice(0, 10);
  if (errors.length === 0) return { outcome: 'ok', codes };
  const data = result.data;
  const hasData = data !== null && data !== undefined && Object.values(data).some((v) => v !== null && v !== undefined);
  return { outcome: hasData ? 'partial' : 'refused', codes };
}

const text = (body: string, status: number, headers: Record<string, string> = {}) =>
  new Response(body, { status, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers } });

export function useObservability(runtime: HubRuntime): Plugin<HubContext> {
  const { metrics, logger } = runtime;
  const { tracer } = runtime.tracing;
  const states = new WeakMap<Request, RequestState>();

  const scrape = async (request: Request): Promise<Response> => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return text('Use GET.\n', 405);
    if (!metrics.scrapeConfigured) return text(`Metrics need a scrape token: set the environment variable ${runtime.config.metrics.tokenEnv} (${MIN_SCRAPE_TOKEN}+ characters) and restart the hub.\n`, 403);
    if (!metrics.mayScrape(request.headers.get('authorization'))) return text('A valid metrics bearer token is required.\n', 401, { 'www-authenticate': 'Bearer' });
    return new Response(await metrics.text(), { headers: { 'content-type': metrics.registry.contentType } });
  };

  return {
    async onRequest({ url, request, endResponse }) {
      const graphql = url.pathname === '/graphql';
      states.set(request, {
        started: performance.now(),
        span: graphql ? tracer.startSpan('hub.request', { attributes: { 'hub.request_id': requestIdOf(request), 'http.request.method': request.method } }, ROOT_CONTEXT) : undefined,
        operation: null,
        principal: undefined,
        result: undefined,
      });
      if (url.pathname === '/metrics' && runtime.config.metrics.enabled) endResponse(await scrape(request));
    },
    onContextBuilding({ context, extendContext }) {
      const span = states.get(context.request)?.span;
      if (span) extendContext({ trace: trace.setSpan(ROOT_CONTEXT, span) } as Partial<HubContext>);
    },
    // Authentication runs before parsing: a request it refuses is named from its parameters (the
    // name given, or the first operation's); a parsed document names it exactly (onValidate).
    onParams({ request, params }) {
      const state = states.get(request);
      if (state) state.operation = params.operationName ?? OPERATION_HEAD.exec(params.query ?? '')?.[1] ?? null;
    },
    onValidate({ context, params }) {
      const state = states.get(context.request);
      if (state) state.operation = getOperationAST(params.documentAST, context.params.operationName)?.name?.value ?? null;
    },
    onExecute({ args }) {
      const ctx = args.contextValue as Partial<HubContext> & { request?: Request };
      const state = ctx.request ? states.get(ctx.request) : undefined;
      if (!state) return;
      if (ctx.principal) state.principal = { kind: ctx.principal.kind, id: ctx.principal.id, department: ctx.principal.department };
    },
    onResultProcess({ request, result }) {
      const state = states.get(request);
      if (state && !Array.isArray(result) && !(Symbol.asyncIterator in (result as object))) state.result = result as ExecutionResult;
    },
    onResponse({ request, response }) {
      const state = states.get(request);
      if (!state) return;
      states.delete(request);
      const url = new URL(request.url);
      const seconds = (performance.now() - state.started) / 1000;
      const { outcome, codes } = outcomeOf(state);
      const graphql = url.pathname === '/graphql';
      const operation = graphql ? metrics.operationLabel(state.operation) : null;
      if (graphql && operation !== null) {
        metrics.requests.inc({ operation, outcome });
        metrics.requestDuration.observe({ operation, outcome }, seconds);
      }
      if (state.span) {
        state.span.setAttributes({ 'graphql.operation.name': operation ?? 'anonymous', 'hub.outcome': outcome, 'http.response.status_code': response.status });
        if (outcome !== 'ok') state.span.setStatus({ code: SpanStatusCode.ERROR, message: codes.join(',') || `HTTP ${response.status}` });
        state.span.end();
      }
      const principal = state.principal
        ? { principal: state.principal.kind, department: state.principal.department, ...(state.principal.kind === 'system' ? { system: state.principal.id } : {}) }
        : {};
      const line = {
        requestId: requestIdOf(request),
        method: request.method,
        path: url.pathname,
        ...(graphql ? { operation, outcome, codes } : {}),
        status: response.status,
        durationMs: Math.round(seconds * 10_000) / 10,
        ...principal,
      };
      if (QUIET.has(url.pathname)) logger.debug(line, 'request');
      else logger.info(line, 'request');
    },
  };
}
