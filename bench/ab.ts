/**
 * Paired A/B of the hub's settings: `npm run bench:ab`. (A) is the hub with its defaults, (B) the
 * same hub with the what-ifs of BENCH_HUB_* (see config.ts); both run in every round, in swapped
 * order from round to round, so the drift of a shared machine (which moves a whole run by ±20 %
 * here) hits both alike and the per-round ratio B/A carries the verdict. Before any load, both
 * answer the same requests with the same data and write the same number of records per query.
 *
 * With BENCH_AB_BASE=<commit>, (A) is the hub of that commit instead (a detached git worktree in a
 * temporary directory, sharing this checkout's node_modules, removed at the end; its bench server
 * protocol must match this one's) and (B) this checkout's, with the what-ifs if any: a code
 * change measured paired.
 *
 *   BENCH_AB_BASE=<commit>     (A) from that commit (default: (A) = this checkout, hub defaults)
 *   BENCH_AB_SCENARIOS=one     scenario ids, comma-separated (one, batch, verify, denied)
 *   BENCH_ROUNDS=6             rounds (default 6 here)
 *   BENCH_SECONDS, BENCH_WARMUP_SECONDS, BENCH_CONNECTIONS, BENCH_MAX_REQUESTS as for the bench
 *   BENCH_OUT                  where to write the JSON (default bench/results/ab.json)
 *
 * Examples: BENCH_HUB_AUDIT_LINGER=2 npm run bench:ab; BENCH_AB_BASE=HEAD~3 npm run bench:ab
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { firstDifference } from './compare.ts';
import { readConfigOrExit, ROOT } from './config.ts';
import { createEnvironment, serverSpec, whatIfSettings, type BenchEnvironment } from './environment.ts';
import { loadRun, median } from './measure.ts';
import { probe } from './probe.ts';
import { readRevision } from './report/revision.ts';
import { buildScenarios, type Scenario, type ScenarioId } from './scenarios.ts';
import { startServer, type ServerHandle } from './servers/control.ts';

type Side = 'A' | 'B';

interface AbRun {
  readonly round: number;
  readonly side: Side;
  readonly scenario: ScenarioId;
  readonly rps: number;
  readonly p99Ms: number;
  readonly cpuMsPerQuery: number;
  /** Per cent of the run the hub's event loop ran callbacks. */
  readonly loopBusyPercent: number | null;
  readonly mongoCpuMsPerQuery: number | null;
  /** REST lookups the sample departments answered per query (calls shared among requests count once). */
  readonly restCallsPerQuery: number;
  /** Records per evidence insert that landed (the hub's own counters; null without writes). */
  readonly recordsPerWrite: number | null;
  readonly errors: number;
}

const FIGURES = ['rps', 'p99Ms', 'cpuMsPerQuery', 'loopBusyPercent', 'mongoCpuMsPerQuery', 'restCallsPerQuery', 'recordsPerWrite'] as const;
type Figure = (typeof FIGURES)[number];

interface FigureSummary {
  /** Medians over the rounds. */
  readonly A: number | null;
  readonly B: number | null;
  /** B/A of each round's paired runs, and their median. */
  readonly perRound: readonly number[];
  readonly medianRatio: number | null;
}

const log = (line: string) => console.log(line);
const env = process.env;
const config = readConfigOrExit(env);
const rounds = env['BENCH_ROUNDS']?.trim() ? config.rounds : 6;
const out = env['BENCH_OUT']?.trim() || fileURLToPath(new URL('./results/ab.json', import.meta.url));
const wanted = (env['BENCH_AB_SCENARIOS']?.trim() || 'one').split(',').map((s) => s.trim()).filter(Boolean);
const whatIf = whatIfSettings(config);
const base = env['BENCH_AB_BASE']?.trim() || undefined;
const git = (...args: string[]) => promisify(execFile)('git', ['-C', ROOT, ...args], { timeout: 60_000 });

/** A detached worktree of `commit` with this checkout's node_modules: where (A)'s server process comes from. */
async function baseline(commit: string): Promise<{ childPath: string; revision: string; remove: () => Promise<void> }> {
  const revision = (await git('rev-parse', '--short', `${commit}^{commit}`).catch(() => {
    throw new Error(`BENCH_AB_BASE: ${commit} is not a commit of this repository`);
  })).stdout.trim();
  const dir = await mkdtemp(join(tmpdir(), 'bench-ab-base-'));
  const remove = async () => {
    await git('worktree', 'remove', '--force', dir).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await git('worktree', 'add', '--detach', dir, revision);
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  } catch (error) {
    await remove();
    throw error;
  }
  return { childPath: join(dir, 'bench/servers/child.ts'), revision, remove };
}

const servers: ServerHandle[] = [];
let environment: BenchEnvironment | undefined;
let removeBaseline: (() => Promise<void>) | undefined;
let tearingDown: Promise<void> | undefined;
const tearDown = () => (tearingDown ??= (async () => {
  await Promise.allSettled(servers.splice(0).map((s) => s.stop()));
  await removeBaseline?.();
  await environment?.close();
})());
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void tearDown().finally(() => process.exit(130)));
}

/** Both sides give the same answers and write as many records per query; otherwise the comparison is void. */
async function checkSameWork(e: BenchEnvironment, a: ServerHandle, b: ServerHandle, scenario: Scenario): Promise<void> {
  const queries = scenario.id === 'batch' ? 4 : 8;
  const pa = await probe(e, a, scenario, queries);
  const pb = await probe(e, b, scenario, queries);
  let difference: string | null = null;
  for (let i = 0; i < pa.bodies.length; i++) difference ??= firstDifference(pb.bodies[i], pa.bodies[i]);
  if (difference !== null) throw new Error(`${scenario.id}: (B) answers differently from (A) at ${difference}`);
  if (pa.auditPerQuery !== pb.auditPerQuery) throw new Error(`${scenario.id}: (B) writes ${pb.auditPerQuery} records per query, (A) ${pa.auditPerQuery}`);
  log(`  ${scenario.id}: same data, ${pa.auditPerQuery} records per query on both`);
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Per round B/A of a figure (rounds where both sides have it). */
function ratios(runs: readonly AbRun[], scenario: ScenarioId, figure: Figure): number[] {
  return [...new Set(runs.map((r) => r.round))].flatMap((round) => {
    const a = runs.find((r) => r.round === round && r.scenario === scenario && r.side === 'A')?.[figure];
    const b = runs.find((r) => r.round === round && r.scenario === scenario && r.side === 'B')?.[figure];
    return a !== undefined && b !== undefined && a !== null && b !== null && a > 0 ? [round3(b / a)] : [];
  });
}

function sideMedian(runs: readonly AbRun[], scenario: ScenarioId, side: Side, figure: Figure): number | null {
  const values = runs.filter((r) => r.scenario === scenario && r.side === side).map((r) => r[figure]);
  return values.some((v) => v === null) ? null : round3(median(values as number[]));
}

async function main(): Promise<void> {
  if (Object.keys(whatIf).length === 0 && !base) {
    throw new Error('Nothing to compare: set a what-if for (B) (BENCH_HUB_AUDIT_BATCH, BENCH_HUB_AUDIT_IN_FLIGHT, BENCH_HUB_AUDIT_LINGER, BENCH_HUB_TRUSTED=enforce, BENCH_HUB_NODE_FLAGS) or a baseline commit for (A) (BENCH_AB_BASE).');
  }
  const baselineSide = base ? await baseline(base) : undefined;
  removeBaseline = baselineSide?.remove;
  const describeA = baselineSide ? `the hub of ${baselineSide.revision}` : "the hub's defaults";
  const describeB = `this checkout${Object.keys(whatIf).length ? ` with ${JSON.stringify(whatIf)}` : ''}`;
  log(`一网共享 A/B: (A) ${describeA}, (B) ${describeB}; ${rounds} rounds × ${config.seconds} s, ${config.connections} connections`);
  const e = (environment = await createEnvironment(log));
  const all = buildScenarios(e.data);
  const unknown = wanted.filter((id) => !all.some((s) => s.id === id));
  if (unknown.length) throw new Error(`BENCH_AB_SCENARIOS: unknown scenario ${unknown.join(', ')} (known: ${all.map((s) => s.id).join(', ')})`);
  const scenarios = all.filter((s) => wanted.includes(s.id));
  // Each side on a database of its own, made the same way: the hubs' exact counters (verification
  // attempts, daily quotas) would otherwise be advanced by one and found taken by the other, a cost
  // no single deployment has; and a side on the environment's database (where its tokens were
  // issued) against one on a fresh copy measured (B) up to 8 % ahead of an identical (A).
  const a = await startServer(`(A) ${describeA}`, { ...serverSpec(e, 'hub', false), database: await e.secondHubDatabase('hub_a') }, baselineSide?.childPath);
  servers.push(a);
  const b = await startServer(`(B) ${describeB}`, { ...serverSpec(e, 'hub', false, whatIf), database: await e.secondHubDatabase('hub_b') });
  servers.push(b);
  log('Probing: same data and records per query on both');
  for (const scenario of scenarios) await checkSameWork(e, a, b, scenario);
  if (config.warmupSeconds > 0) {
    for (const scenario of scenarios) for (const server of [a, b]) await loadRun(e, server, scenario, config.warmupSeconds, config);
  }
  const runs: AbRun[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const scenario of scenarios) {
      const order: Array<[Side, ServerHandle]> = round % 2 === 1 ? [['A', a], ['B', b]] : [['B', b], ['A', a]];
      for (const [side, server] of order) {
        const r = await loadRun(e, server, scenario, config.seconds, config);
        runs.push({
          round, side, scenario: scenario.id, rps: r.load.rps, p99Ms: r.load.p99Ms, cpuMsPerQuery: r.cpuMsPerQuery, loopBusyPercent: r.loopBusyPercent,
          mongoCpuMsPerQuery: r.mongoCpuMsPerQuery, restCallsPerQuery: r.loadRestCallsPerQuery,
          recordsPerWrite: r.auditPerSecond !== null && r.auditWritesPerSecond ? Math.round((10 * r.auditPerSecond) / r.auditWritesPerSecond) / 10 : null,
          errors: r.load.errors + r.load.timeouts + r.load.non2xx,
        });
        log(`  round ${round} ${scenario.id.padEnd(6)} (${side}) ${String(r.load.rps).padStart(8)} req/s  p99 ${r.load.p99Ms} ms  CPU ${r.cpuMsPerQuery} ms/q  loop ${r.loopBusyPercent ?? '–'} %  mongo ${r.mongoCpuMsPerQuery ?? '–'} ms/q  REST calls ${r.loadRestCallsPerQuery}/q  ${runs.at(-1)!.recordsPerWrite ?? '–'} records/write`);
      }
    }
  }
  const summary = scenarios.map((s) => ({
    scenario: s.id,
    figures: Object.fromEntries(FIGURES.map((f): [Figure, FigureSummary] => {
      const perRound = ratios(runs, s.id, f);
      return [f, { A: sideMedian(runs, s.id, 'A', f), B: sideMedian(runs, s.id, 'B', f), perRound, medianRatio: perRound.length ? round3(median(perRound)) : null }];
    })) as Record<Figure, FigureSummary>,
    errors: runs.filter((r) => r.scenario === s.id).reduce((n, r) => n + r.errors, 0),
  }));
  const results = { generatedAt: new Date().toISOString(), revision: await readRevision(), ...(baselineSide ? { base: baselineSide.revision } : {}), whatIf, rounds, seconds: config.seconds, connections: config.connections, summary, runs };
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify(results, null, 2) + '\n');

  log(`\n== (B)/(A) per round, and the median ratio — (A) ${describeA}, (B) ${describeB}\n`);
  const labels: Record<Figure, string> = { rps: 'req/s', p99Ms: 'p99 ms', cpuMsPerQuery: 'hub CPU ms/q', loopBusyPercent: 'hub loop busy %', mongoCpuMsPerQuery: 'mongo CPU ms/q', restCallsPerQuery: 'REST calls/q', recordsPerWrite: 'records/write' };
  for (const s of summary) {
    log(`${s.scenario} (non-2xx and errors: ${s.errors})`);
    for (const f of FIGURES) {
      const x = s.figures[f];
      log(`  ${labels[f].padEnd(15)} A ${String(x.A ?? '–').padStart(9)}  B ${String(x.B ?? '–').padStart(9)}  B/A ${String(x.medianRatio ?? '–').padStart(6)}  per round ${x.perRound.join(' ')}`);
    }
  }
  log(`\nWrote ${out}`);
}

try {
  await main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
} finally {
  await tearDown();
}
