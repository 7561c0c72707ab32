/**
 * The side-by-side measurement: every scenario on every server, in rounds; within a round the
 * server order rotates (a b c, b c a, c a b …) so drift of the shared machine hits all alike.
 * Medians over rounds are reported; ratios are computed from the medians and per round.
 */
import type { BenchConfig } from './config.ts';
import { busyPercent, machineCpuTicks } from './cpu.ts';
import type { BenchEnvironment } from './environment.ts';
import { runLoad } from './load/driver.ts';
import type { LoadResult } from './load/types.ts';
import { requestHeaders, restCalls } from './probe.ts';
import type { Scenario, ScenarioId } from './scenarios.ts';
import type { ServerHandle } from './servers/control.ts';
import type { MemoryStats, ServerKind } from './servers/protocol.ts';

export const KINDS: readonly ServerKind[] = ['ceiling', 'plain', 'hub'];
/** Measured alongside when BENCH_DECOMPOSE is on: the hub with audit writes discarded. */
export const DIAGNOSTIC: ServerKind = 'hub-noaudit';

export interface RunRecord {
  readonly round: number;
  readonly server: ServerKind;
  readonly scenario: ScenarioId;
  readonly load: LoadResult;
  readonly peakRssMB: number;
  /** Access records acknowledged per second during the run (hub only). */
  readonly auditPerSecond: number | null;
  /** Growth of audit_access per second during the run, counted in MongoDB (hub only). */
  readonly auditDocsPerSecond: number | null;
  /** Evidence inserts that landed per second during the run (hub only): records per write = auditPerSecond / this. */
  readonly auditWritesPerSecond: number | null;
  /** Their mean time from sending to acknowledgement during the run, ms (hub only). */
  readonly auditWriteMs: number | null;
  /** CPU time per query of the server process, of the MongoDB-wire server, and of the sample departments (this process), ms. */
  readonly cpuMsPerQuery: number;
  readonly mongoCpuMsPerQuery: number | null;
  readonly departmentsCpuMsPerQuery: number;
  /** Per cent of the run the server's event loop was running callbacks (`performance.eventLoopUtilization`). */
  readonly loopBusyPercent: number | null;
  /** CPU time per query of the load generator (autocannon's process), ms. */
  readonly loadCpuMsPerQuery: number;
  /** Per cent of all the machine's cores busy during the run, whatever process (/proc/stat; null elsewhere). */
  readonly machineBusyPercent: number | null;
  /** REST lookups the sample departments answered per query during the load (shared calls count once). */
  readonly loadRestCallsPerQuery: number;
}

export interface ServerSummary {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly rpsRuns: readonly number[];
  readonly requests: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly peakRssMB: number;
  readonly auditPerSecond: number | null;
  readonly auditDocsPerSecond: number | null;
  readonly auditWritesPerSecond: number | null;
  readonly auditWriteMs: number | null;
  readonly bytesPerResponse: number;
  readonly cpuMsPerQuery: number;
  readonly mongoCpuMsPerQuery: number | null;
  readonly departmentsCpuMsPerQuery: number;
  readonly loopBusyPercent: number | null;
  readonly loadCpuMsPerQuery: number;
  readonly machineBusyPercent: number | null;
  readonly loadRestCallsPerQuery: number;
}

export const median = (values: readonly number[]): number => {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

/** Calls per query, to two decimals. */
export const perCall = (calls: number, requests: number): number => Math.round((calls / Math.max(1, requests)) * 100) / 100;

/** Per cent of the time between two readings the server's event loop ran callbacks (mean over workers). */
function loopBusy(before: MemoryStats, after: MemoryStats): number | null {
  const active = after.loopActiveMs - before.loopActiveMs;
  const idle = after.loopIdleMs - before.loopIdleMs;
  return active + idle > 0 ? Math.round((1000 * active) / (active + idle)) / 10 : null;
}

/** What the server process answers about itself (both the servers' and the peers' RPC). */
interface Measurable {
  readonly url: string;
  call(op: 'memory'): Promise<MemoryStats>;
}

/** A bounded load run and the CPU every part of the machine spent on it (no audit figures). */
export async function measuredLoad(
  env: BenchEnvironment, server: Measurable, bodies: readonly string[], scenario: Scenario, seconds: number, config: BenchConfig,
): Promise<Omit<RunRecord, 'round' | 'server' | 'scenario' | 'auditPerSecond' | 'auditDocsPerSecond' | 'auditWritesPerSecond' | 'auditWriteMs'>> {
  const start = await server.call('memory'); // also starts a new peak window
  const mongo0 = await env.mongoCpuMicros();
  const machine0 = await machineCpuTicks();
  const own0 = process.cpuUsage();
  const rest0 = restCalls(env);
  const load = await runLoad({
    url: server.url,
    bodies,
    headers: requestHeaders(env, scenario),
    connections: config.connections,
    seconds,
    maxRequests: config.maxRequests,
  });
  const own = process.cpuUsage(own0);
  const rest1 = restCalls(env);
  const machine1 = await machineCpuTicks();
  const mongo1 = await env.mongoCpuMicros();
  const memory = await server.call('memory');
  const perQuery = (micros: number) => Math.round(micros / Math.max(1, load.requests)) / 1000;
  return {
    cpuMsPerQuery: perQuery(memory.cpuMicros - start.cpuMicros),
    loopBusyPercent: loopBusy(start, memory),
    mongoCpuMsPerQuery: mongo0 === null || mongo1 === null ? null : perQuery(mongo1 - mongo0),
    departmentsCpuMsPerQuery: perQuery(own.user + own.system),
    loadCpuMsPerQuery: perQuery(load.cpuMicros),
    machineBusyPercent: busyPercent(machine0, machine1),
    loadRestCallsPerQuery: perCall(rest1 - rest0, load.requests),
    load,
    peakRssMB: mb(memory.windowPeakRss),
  };
}

export async function loadRun(env: BenchEnvironment, server: ServerHandle, scenario: Scenario, seconds: number, config: BenchConfig): Promise<Omit<RunRecord, 'round' | 'server' | 'scenario'>> {
  const hub = server.spec.kind === 'hub';
  const audit0 = hub ? await server.call('audit') : { written: 0, writes: 0, writeMillis: 0 };
  const docs0 = hub ? await env.auditCount(server.spec.database) : 0;
  const run = await measuredLoad(env, server, scenario.bodies, scenario, seconds, config);
  const audit1 = hub ? await server.call('audit') : { written: 0, writes: 0, writeMillis: 0 };
  const docs1 = hub ? await env.auditCount(server.spec.database) : 0;
  const perSecond = (n: number) => Math.round(n / run.load.seconds);
  return {
    ...run,
    auditPerSecond: hub ? perSecond(audit1.written - audit0.written) : null,
    auditDocsPerSecond: hub ? perSecond(docs1 - docs0) : null,
    auditWritesPerSecond: hub ? perSecond(audit1.writes - audit0.writes) : null,
    auditWriteMs: hub && audit1.writes > audit0.writes ? Math.round((100 * (audit1.writeMillis - audit0.writeMillis)) / (audit1.writes - audit0.writes)) / 100 : null,
  };
}

export function summariseRuns(runs: readonly RunRecord[], scenario: ScenarioId, kind: ServerKind): ServerSummary {
  const mine = runs.filter((r) => r.scenario === scenario && r.server === kind);
  const nullableMedian = (values: ReadonlyArray<number | null>) => {
    const present = values.filter((v): v is number => v !== null);
    return present.length ? Math.round(median(present)) : null;
  };
  return {
    rps: Math.round(median(mine.map((r) => r.load.rps)) * 10) / 10,
    p50Ms: median(mine.map((r) => r.load.p50Ms)),
    p99Ms: median(mine.map((r) => r.load.p99Ms)),
    rpsRuns: mine.map((r) => r.load.rps),
    requests: mine.reduce((s, r) => s + r.load.requests, 0),
    errors: mine.reduce((s, r) => s + r.load.errors + r.load.timeouts, 0),
    non2xx: mine.reduce((s, r) => s + r.load.non2xx, 0),
    peakRssMB: Math.max(0, ...mine.map((r) => r.peakRssMB)),
    auditPerSecond: nullableMedian(mine.map((r) => r.auditPerSecond)),
    auditDocsPerSecond: nullableMedian(mine.map((r) => r.auditDocsPerSecond)),
    auditWritesPerSecond: nullableMedian(mine.map((r) => r.auditWritesPerSecond)),
    auditWriteMs: mine.some((r) => r.auditWriteMs === null) ? null : median(mine.map((r) => r.auditWriteMs ?? 0)),
    bytesPerResponse: Math.round(median(mine.map((r) => r.load.bytesPerResponse))),
    cpuMsPerQuery: median(mine.map((r) => r.cpuMsPerQuery)),
    mongoCpuMsPerQuery: mine.some((r) => r.mongoCpuMsPerQuery === null) ? null : median(mine.map((r) => r.mongoCpuMsPerQuery ?? 0)),
    departmentsCpuMsPerQuery: median(mine.map((r) => r.departmentsCpuMsPerQuery)),
    loopBusyPercent: mine.some((r) => r.loopBusyPercent === null) ? null : median(mine.map((r) => r.loopBusyPercent ?? 0)),
    loadCpuMsPerQuery: median(mine.map((r) => r.loadCpuMsPerQuery)),
    machineBusyPercent: mine.some((r) => r.machineBusyPercent === null) ? null : median(mine.map((r) => r.machineBusyPercent ?? 0)),
    loadRestCallsPerQuery: median(mine.map((r) => r.loadRestCallsPerQuery)),
  };
}

/** c/b and c/a per round (paired runs of the same round), for the spread of the ratio. */
export function roundRatios(runs: readonly RunRecord[], scenario: ScenarioId, over: ServerKind, of: ServerKind = 'hub'): number[] {
  const rounds = [...new Set(runs.map((r) => r.round))];
  return rounds.flatMap((round) => {
    const hub = runs.find((r) => r.round === round && r.scenario === scenario && r.server === of);
    const base = runs.find((r) => r.round === round && r.scenario === scenario && r.server === over);
    return hub && base && base.load.rps > 0 ? [Math.round((hub.load.rps / base.load.rps) * 1000) / 1000] : [];
  });
}
