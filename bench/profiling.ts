/**
 * Where the time goes: (b) and (c) under the same load, each CPU-profiled from inside its process
 * (sampling every 250 µs), summarised by function and by package. Throughput under the profiler
 * is lower than in the measured rounds and is not reported as a result.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BenchConfig } from './config.ts';
import type { BenchEnvironment } from './environment.ts';
import { loadRun } from './measure.ts';
import type { Scenario, ScenarioId } from './scenarios.ts';
import type { ServerHandle } from './servers/control.ts';
import type { ProfileSummary } from './servers/profile.ts';
import type { ServerKind } from './servers/protocol.ts';

export interface ProfileReport {
  readonly server: ServerKind;
  readonly scenario: ScenarioId;
  readonly rpsUnderProfiler: number;
  readonly summary: Omit<ProfileSummary, 'raw'>;
  readonly file?: string;
}

export async function profileServers(
  env: BenchEnvironment,
  servers: readonly ServerHandle[],
  scenarios: readonly Scenario[],
  config: BenchConfig,
  log: (line: string) => void,
): Promise<ProfileReport[]> {
  const reports: ProfileReport[] = [];
  for (const scenario of scenarios) {
    for (const server of servers) {
      await server.call('profile-start');
      let summary: ProfileSummary;
      let rps: number;
      try {
        rps = (await loadRun(env, server, scenario, config.profileSeconds, config)).load.rps;
      } finally {
        summary = await server.call('profile-stop');
      }
      const { raw, ...rest } = summary;
      let file: string | undefined;
      if (raw !== undefined) {
        file = join(dirname(config.out), 'profiles', `${server.spec.kind}-${scenario.id}.cpuprofile`);
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, JSON.stringify(raw));
      }
      const top = rest.topSelf.slice(0, 3).map((e) => `${e.function} ${e.percent}%`).join(', ');
      log(`  profiled ${server.spec.kind} × ${scenario.id}: ${rps} req/s under the profiler; top self: ${top}`);
      reports.push({ server: server.spec.kind, scenario: scenario.id, rpsUnderProfiler: rps, summary: rest, ...(file ? { file } : {}) });
    }
  }
  return reports;
}
