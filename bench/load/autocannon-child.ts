/**
 * The load generator process: runs one autocannon run as the orchestrator asks (over IPC), with
 * its own latency record at hrtime resolution, answers the result and exits. Running apart from
 * the servers keeps its CPU out of their accounting.
 */
import autocannon from 'autocannon';
import type { LoadResult, LoadSpec } from './types.ts';

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

const round = (n: number, digits = 3) => Number(n.toFixed(digits));

function run(spec: LoadSpec): Promise<LoadResult> {
  const latencies = new Float64Array(spec.maxRequests + spec.connections);
  let count = 0;
  let bytes = 0;
  const cpu0 = process.cpuUsage();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        duration: spec.seconds,
        maxOverallRequests: spec.maxRequests,
        pipelining: 1,
        timeout: 30,
        method: 'POST',
        headers: spec.headers,
        requests: spec.bodies.map((body) => ({ method: 'POST', headers: spec.headers, body })),
      },
      (error, result) => {
        clearTimeout(guard);
        if (error) return reject(error);
        const cpu = process.cpuUsage(cpu0);
        const sorted = latencies.subarray(0, count).sort();
        let sum = 0;
        for (const v of sorted) sum += v;
        const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count]));
        resolve({
          requests: count,
          seconds: result.duration,
          rps: round(count / result.duration, 1),
          p50Ms: round(percentile(sorted, 50)),
          p90Ms: round(percentile(sorted, 90)),
          p99Ms: round(percentile(sorted, 99)),
          meanMs: round(count ? sum / count : Number.NaN),
          errors: result.errors,
          timeouts: result.timeouts,
          non2xx: result.non2xx,
          statusCodes,
          bytesPerResponse: count ? Math.round(bytes / count) : 0,
          cpuMicros: cpu.user + cpu.system,
        });
      },
    );
    instance.on('response', (_client: unknown, _status: number, resBytes: number, ms: number) => {
      if (count < latencies.length) latencies[count++] = ms;
      bytes += resBytes;
    });
    // autocannon stops itself after `duration`; this guard only covers a stuck run.
    const guard = setTimeout(() => instance.stop(), (spec.seconds + 20) * 1000);
  });
}

process.once('message', (spec: LoadSpec) => {
  run(spec).then(
    (result) => process.send?.({ ok: true, result }, undefined, {}, () => process.exit(0)),
    (error: unknown) => process.send?.({ ok: false, error: error instanceof Error ? error.message : String(error) }, undefined, {}, () => process.exit(1)),
  );
});
process.on('disconnect', () => process.exit(1));
