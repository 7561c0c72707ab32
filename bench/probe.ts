/**
 * Before any load: a few requests per server and scenario, one at a time, to count exactly what a
 * query costs upstream (connector calls, REST lookups at the sample departments) and in audit
 * records, and to keep the answers for the same-data comparison.
 */
import type { BenchEnvironment } from './environment.ts';
import type { Scenario } from './scenarios.ts';
import type { ServerHandle } from './servers/control.ts';

/** What the probe needs of a server: (a)–(c) are ServerHandles; a peer ((d)) has no connectors. */
export interface ProbeTarget {
  readonly url: string;
  call: ServerHandle['call'];
}

export interface ProbeOptions {
  /** Bodies to send instead of the scenario's (a peer's equivalent operation). */
  readonly bodies?: readonly string[];
  /**
   * What counts as an upstream call: connector fetchMany calls (the default: (a)–(c) all use the
   * hub's connectors), or the lookups the sample REST departments received (a peer calls them itself).
   */
  readonly upstream?: 'connectors' | 'rest';
}

export interface ProbeResult {
  readonly queries: number;
  /** Connector fetchMany calls per query (all kinds: REST, MongoDB, file). */
  readonly upstreamPerQuery: number;
  /** Lookup requests the sample REST departments received per query. */
  readonly restCallsPerQuery: number;
  readonly callsByDataset: Readonly<Record<string, number>>;
  /** Access records acknowledged by the hub's writer per query (null for (a) and (b)). */
  readonly auditPerQuery: number | null;
  /** Access documents counted in audit_access per query (null for (a) and (b)). */
  readonly auditDocsPerQuery: number | null;
  readonly statuses: readonly number[];
  /** extensions.code of every error in the answers. */
  readonly errorCodes: readonly string[];
  readonly bodies: readonly unknown[];
}

export function requestHeaders(env: BenchEnvironment, scenario: Scenario): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json, application/json',
    authorization: `Bearer ${env.tokens[scenario.system]}`,
  };
}

/** REST lookups the sample departments (公安, 民政) have answered so far. */
export function restCalls(env: BenchEnvironment): number {
  return env.departments.gongan.calls + env.departments.minzheng.calls;
}

function codesOf(body: unknown): string[] {
  const errors = (body as { errors?: Array<{ extensions?: { code?: unknown } }> } | null)?.errors ?? [];
  return errors.map((e) => String(e.extensions?.code ?? 'NO_CODE'));
}

function isServerHandle(server: ServerHandle | ProbeTarget): server is ServerHandle {
  return 'spec' in server;
}

export async function probe(env: BenchEnvironment, server: ServerHandle | ProbeTarget, scenario: Scenario, queries: number, options: ProbeOptions = {}): Promise<ProbeResult> {
  const hub = isServerHandle(server) && server.spec.kind === 'hub';
  const bodies = options.bodies ?? scenario.bodies;
  const before = (await server.call('counts')).calls;
  const restBefore = restCalls(env);
  const writtenBefore = hub ? (await server.call('audit')).written : 0;
  const docsBefore = hub ? await env.auditCount(server.spec.database) : 0;
  const statuses: number[] = [];
  const answers: unknown[] = [];
  const errorCodes: string[] = [];
  for (let i = 0; i < queries; i++) {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: requestHeaders(env, scenario),
      body: bodies[i % bodies.length],
      signal: AbortSignal.timeout(30_000),
    });
    statuses.push(res.status);
    const body: unknown = await res.json();
    answers.push(body);
    errorCodes.push(...codesOf(body));
  }
  const after = (await server.call('counts')).calls;
  const callsByDataset: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const delta = v - (before[k] ?? 0);
    if (delta) callsByDataset[k] = delta;
  }
  const restPerQuery = (restCalls(env) - restBefore) / queries;
  const upstream = Object.values(callsByDataset).reduce((s, v) => s + v, 0);
  return {
    queries,
    upstreamPerQuery: options.upstream === 'rest' ? restPerQuery : upstream / queries,
    restCallsPerQuery: restPerQuery,
    callsByDataset,
    auditPerQuery: hub ? ((await server.call('audit')).written - writtenBefore) / queries : null,
    auditDocsPerQuery: hub ? ((await env.auditCount(server.spec.database)) - docsBefore) / queries : null,
    statuses,
    errorCodes,
    bodies: answers,
  };
}
