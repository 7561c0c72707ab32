/**
 * How the hub scales from 1 to 2 gateway processes: a second hub deployment of two node:cluster
 * workers sharing one loopback port (the cluster primary hands connections round-robin), on the
 * same MongoDB database as the single hub. One autocannon process drives either; runs alternate.
 */
import type { BenchConfig } from './config.ts';
import type { BenchEnvironment } from './environment.ts';
import { loadRun, median } from './measure.ts';
import type { Scenario } from './scenarios.ts';
import { startServer, type ServerHandle } from './servers/control.ts';
import { freeLoopbackPort } from '../gateway/mongo/provision.ts';

export interface ScalingSide {
  readonly processes: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly rpsRuns: readonly number[];
  readonly auditPerSecond: number;
  readonly peakRssMB: number;
  /** CPU per query of the hub process(es) and of the MongoDB-wire server, ms. */
  readonly cpuMsPerQuery: number;
  readonly mongoCpuMsPerQuery: number | null;
}

export interface ScalingResult {
  readonly scenario: string;
  readonly method: string;
  readonly one: ScalingSide;
  readonly two: ScalingSide;
  /** two.rps / one.rps */
  readonly speedup: number;
}

export async function measureScaling(
  env: BenchEnvironment,
  single: ServerHandle,
  scenario: Scenario,
  config: BenchConfig,
  log: (line: string) => void,
): Promise<ScalingResult> {
  const port = await freeLoopbackPort();
  const pair = await startServer('hub ×2', { ...single.spec, port, workers: 2 });
  try {
    const sides = [single, pair];
    // The pair's workers each see half the warm-up traffic: warm both sides twice as long.
    if (config.warmupSeconds > 0) for (const s of sides) await loadRun(env, s, scenario, 2 * config.warmupSeconds, config);
    const runs = new Map<ServerHandle, Array<Awaited<ReturnType<typeof loadRun>>>>(sides.map((s) => [s, []]));
    for (let round = 1; round <= config.rounds; round++) {
      for (const s of round % 2 ? sides : [...sides].reverse()) {
        const r = await loadRun(env, s, scenario, config.seconds, config);
        runs.get(s)!.push(r);
        log(`  round ${round} ${s.label.padEnd(7)} ${String(r.load.rps).padStart(8)} req/s  p50 ${r.load.p50Ms} ms  p99 ${r.load.p99Ms} ms`);
      }
    }
    const side = (s: ServerHandle, processes: number): ScalingSide => {
      const rs = runs.get(s)!;
      return {
        processes,
        rps: Math.round(median(rs.map((r) => r.load.rps)) * 10) / 10,
        p50Ms: median(rs.map((r) => r.load.p50Ms)),
        p99Ms: median(rs.map((r) => r.load.p99Ms)),
        rpsRuns: rs.map((r) => r.load.rps),
        auditPerSecond: Math.round(median(rs.map((r) => r.auditPerSecond ?? 0))),
        peakRssMB: Math.max(...rs.map((r) => r.peakRssMB)),
        cpuMsPerQuery: median(rs.map((r) => r.cpuMsPerQuery)),
        mongoCpuMsPerQuery: rs.some((r) => r.mongoCpuMsPerQuery === null) ? null : median(rs.map((r) => r.mongoCpuMsPerQuery ?? 0)),
      };
    };
    const one = side(single, 1);
    const two = side(pair, 2);
    return {
      scenario: scenario.id,
      method: 'node:cluster, 2 workers on one port, same MongoDB database; one autocannon process',
      one,
      two,
      speedup: Math.round((two.rps / one.rps) * 100) / 100,
    };
  } finally {
    await pair.stop();
  }
}
