/**
 * `npm run bench`: what purpose checks, policies, masking and a durable audit trail cost.
 *
 * Three servers answer the same operations from the same sample department systems, each in its
 * own process: (a) a raw node:http ceiling, (b) a plain graphql-yoga gateway, (c) the hub; and a
 * peer, (d) Hive Gateway (GraphQL Mesh over the departments' OpenAPI descriptions, installed on
 * demand into bench/peers), on the scenario it has an equivalent for (one person × 3 REST
 * resources). A separate autocannon process loads them in rotated rounds; then micro-benchmarks
 * (audit writer, policy), a CPU profile of (b) and (c), and 1 vs 2 hub processes. Prints a table
 * and writes bench/results/latest.json. Settings: see bench/config.ts (BENCH_QUICK=1 for a smoke
 * run) and servers/peer-control.ts (BENCH_PEERS, BENCH_PEER_INSTALL_SECONDS).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { expectedHubBody, firstDifference } from './compare.ts';
import { readConfigOrExit } from './config.ts';
import { createEnvironment, serverSpec, whatIfSettings, type BenchEnvironment } from './environment.ts';
import { DIAGNOSTIC, KINDS, roundRatios, summariseRuns } from './measure.ts';
import { auditWriterBench, type AuditMicroResult } from './micro/audit.ts';
import { policyBench } from './micro/policy.ts';
import { PEER_KIND, PEER_LABEL, PEER_SCENARIOS, peerOperation, type PeerKind, type PeerOperation } from './peer.ts';
import { probe, type ProbeResult } from './probe.ts';
import { encodingBench, type EncodingMicroResult } from './micro/encoding.ts';
import { profileServers } from './profiling.ts';
import { describeMachine } from './report/machine.ts';
import { readRevision } from './report/revision.ts';
import { goalsText, machineText, microTables, peersText, profileText, ratioTable, scenarioTable } from './report/format.ts';
import { evaluateGoals } from './report/goals.ts';
import type { BenchResults, PeerStatus, ScenarioFigures, ServerFigures } from './report/results.ts';
import { measureRounds, peerRoundRatios, summarisePeerRuns, type MeasuredPeer } from './rounds.ts';
import { measureScaling } from './scaling.ts';
import { buildScenarios, type Scenario, type ScenarioId } from './scenarios.ts';
import { startServer, type ServerHandle } from './servers/control.ts';
import {
  abortPeerInstall, ensurePeersInstalled, peerVersions, readPeerSettings, startPeer, type PeerHandle,
} from './servers/peer-control.ts';
import type { ServerKind, ServerSpec } from './servers/protocol.ts';

const LABELS: Record<ServerKind, string> = { ceiling: '(a) ceiling', plain: '(b) plain', hub: '(c) hub', 'hub-noaudit': '(c′) hub, audit discarded' };
const log = (line: string) => console.log(line);

const config = readConfigOrExit();
const started = performance.now();
const servers = new Map<ServerKind, ServerHandle>();
let peer: PeerHandle | undefined;
let env: BenchEnvironment | undefined;

let tearingDown: Promise<void> | undefined;
const tearDown = () => (tearingDown ??= (async () => {
  abortPeerInstall();
  await Promise.allSettled([...servers.values(), ...(peer ? [peer] : [])].map((s) => s.stop()));
  servers.clear();
  peer = undefined;
  await env?.close();
})());

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`\n${signal}: stopping servers and removing throwaway databases …`);
    void tearDown().finally(() => process.exit(130));
  });
}

function specFor(e: BenchEnvironment, kind: ServerKind): ServerSpec {
  // What-ifs are the hub's: (a) and (b) run as they always do.
  return serverSpec(e, kind, config.profileSave, kind === 'hub' || kind === 'hub-noaudit' ? whatIfSettings(config) : config.plainCollapse ? { collapse: true } : {});
}

function sameData(e: BenchEnvironment, scenario: Scenario, probes: ReadonlyMap<ServerKind, ProbeResult>): ScenarioFigures['sameData'] {
  const a = probes.get('ceiling')!.bodies;
  const b = probes.get('plain')!.bodies;
  const c = probes.get('hub')!.bodies;
  const cPrime = probes.get(DIAGNOSTIC)?.bodies;
  const today = new Date().toISOString().slice(0, 10);
  let ceilingVsPlain: string | null = null;
  let hubVsPlainMasked: string | null = null;
  let noauditVsHub: string | null = null;
  for (let i = 0; i < b.length; i++) {
    ceilingVsPlain ??= firstDifference(a[i], b[i]);
    hubVsPlainMasked ??= firstDifference(c[i], expectedHubBody(b[i], scenario, e.catalogue, today));
    if (cPrime) noauditVsHub ??= firstDifference(cPrime[i], c[i]);
  }
  return { ceilingVsPlain, hubVsPlainMasked, noauditVsHub };
}

/**
 * (d): installs bench/peers if needed and starts Hive Gateway. Never throws: a peer that cannot be
 * had is reported unavailable, and the benchmark goes on without it.
 */
async function startHive(e: BenchEnvironment, scenarios: readonly Scenario[]): Promise<{ status: PeerStatus; operations: Map<ScenarioId, PeerOperation> }> {
  const settings = readPeerSettings();
  const operations = new Map<ScenarioId, PeerOperation>();
  for (const s of scenarios) if (PEER_SCENARIOS.has(s.id)) operations.set(s.id, peerOperation(s, e.catalogue));
  const base = { kind: PEER_KIND, label: PEER_LABEL, scenarios: [...operations.keys()] } as const;
  const status = async (rest: Omit<PeerStatus, keyof typeof base | 'versions'>): Promise<PeerStatus> => ({ ...base, versions: await peerVersions(), ...rest });
  if (!settings.enabled) return { status: await status({ status: 'skipped', reason: 'BENCH_PEERS=0' }), operations };
  const missing = await ensurePeersInstalled(settings, log);
  if (missing) {
    log(`  ${PEER_LABEL} unavailable: ${missing}`);
    return { status: await status({ status: 'unavailable', reason: missing }), operations };
  }
  try {
    peer = await startPeer(PEER_LABEL, { departmentEnv: e.departments.env, keepProfile: false });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    log(`  ${PEER_LABEL} unavailable: ${reason}`);
    return { status: await status({ status: 'unavailable', reason }), operations };
  }
  log(`  ${PEER_LABEL} pid ${peer.pid} on ${peer.url} (supergraph composed in ${peer.composeMs} ms)`);
  return {
    status: await status({ status: 'measured', composeMs: peer.composeMs, operations: Object.fromEntries([...operations].map(([id, op]) => [id, op.query])) }),
    operations,
  };
}

async function main(): Promise<void> {
  log(`一网共享 benchmark (${config.quick ? 'quick' : 'full'}): ${config.rounds} round(s) × ${config.seconds} s, ${config.connections} connections`);
  log('Provisioning MongoDB and the sample department systems …');
  const e = (env = await createEnvironment(log));
  log(`  ${e.mongoDescription}`);
  const scenarios = buildScenarios(e.data);
  const revision = await readRevision();
  log(`  code: ${revision.commit ?? 'unknown commit'}${revision.changedOutsideBench.length ? ` + ${revision.changedOutsideBench.length} changed file(s) outside bench/` : ''}`);

  const kinds = config.decompose ? [...KINDS, DIAGNOSTIC] : [...KINDS];
  for (const kind of kinds) {
    const handle = await startServer(LABELS[kind], specFor(e, kind));
    servers.set(kind, handle);
    log(`  ${LABELS[kind]} pid ${handle.pid} on ${handle.url}`);
  }
  const hive = await startHive(e, scenarios);
  let hiveStatus = hive.status;

  log('Probing (one request at a time): upstream calls, audit records, same data');
  const probes = new Map<ScenarioId, Map<ServerKind, ProbeResult>>();
  const peerProbes = new Map<ScenarioId, ProbeResult>();
  const same = new Map<ScenarioId, ScenarioFigures['sameData']>();
  for (const scenario of scenarios) {
    const byKind = new Map<ServerKind, ProbeResult>();
    for (const kind of kinds) byKind.set(kind, await probe(e, servers.get(kind)!, scenario, scenario.id === 'batch' ? 4 : 8));
    probes.set(scenario.id, byKind);
    const s = sameData(e, scenario, byKind);
    same.set(scenario.id, s);
    const codes = byKind.get('hub')!.errorCodes;
    const unexpected = codes.filter((c) => c !== scenario.deniedCode);
    log(`  ${scenario.id.padEnd(6)} upstream/q a ${byKind.get('ceiling')!.upstreamPerQuery} b ${byKind.get('plain')!.upstreamPerQuery} c ${byKind.get('hub')!.upstreamPerQuery}; audit/q ${byKind.get('hub')!.auditPerQuery}; a = b: ${s.ceilingVsPlain ?? 'yes'}; c = masked b: ${s.hubVsPlainMasked ?? 'yes'}${config.decompose ? `; c′ = c: ${s.noauditVsHub ?? 'yes'}` : ''}${unexpected.length ? `; hub errors: ${[...new Set(unexpected)].join(', ')}` : ''}`);
    const op = hive.operations.get(scenario.id);
    if (peer && op) {
      try {
        const d = await probe(e, peer, scenario, scenario.id === 'batch' ? 4 : 8, { bodies: op.bodies, upstream: 'rest' });
        peerProbes.set(scenario.id, d);
        const b = byKind.get('plain')!.bodies;
        let peerVsPlain: string | null = null;
        for (let i = 0; i < b.length; i++) peerVsPlain ??= firstDifference(op.toPlainShape(d.bodies[i], i), b[i]);
        same.set(scenario.id, { ...s, peerVsPlain });
        log(`  ${scenario.id.padEnd(6)} ${PEER_LABEL}: upstream/q (REST lookups) ${d.upstreamPerQuery}; d = b (mapped to b's shape): ${peerVsPlain ?? 'yes'}`);
      } catch (error) {
        const reason = `probe failed: ${error instanceof Error ? error.message : String(error)}`;
        log(`  ${PEER_LABEL} unavailable: ${reason}`);
        hiveStatus = { ...hiveStatus, status: 'unavailable', reason };
        await peer.stop();
        peer = undefined;
      }
    }
  }

  const measuredPeers: MeasuredPeer[] = peer ? [{ kind: PEER_KIND, handle: peer, bodies: new Map([...hive.operations].map(([id, op]) => [id, op.bodies])) }] : [];
  log(`Measuring: ${scenarios.length} scenarios × ${kinds.length} servers${peer ? ` (+ ${PEER_LABEL} on ${[...hive.operations.keys()].join(', ')})` : ''} × ${config.rounds} round(s)`);
  const { runs, peerRuns, peerFailures } = await measureRounds(e, servers, measuredPeers, scenarios, config, log);
  const hiveFailure = peerFailures.get(PEER_KIND);
  if (hiveFailure) hiveStatus = { ...hiveStatus, status: 'unavailable', reason: hiveFailure };

  const one = scenarios.find((s) => s.id === 'one')!;
  let profiles: BenchResults['profiles'] = [];
  if (config.profile) {
    const profiled = [...servers.values()].filter((s) => s.spec.kind !== 'ceiling');
    log(`Profiling ${profiled.map((s) => s.label).join(', ')} under load`);
    profiles = await profileServers(e, profiled, scenarios.filter((s) => config.profileScenarios.includes(s.id)), config, log);
  }
  let scaling: BenchResults['scaling'] = null;
  if (config.scaling) {
    log('Scaling: 1 vs 2 hub processes');
    scaling = await measureScaling(e, servers.get('hub')!, one, config, log);
  }

  const processPeakRssMB: Partial<Record<ServerKind | PeerKind, number>> = {};
  const peakOf = async (s: ServerHandle | PeerHandle) => Math.round(((await s.call('memory')).maxRss / 1024 / 1024) * 10) / 10;
  for (const kind of kinds) processPeakRssMB[kind] = await peakOf(servers.get(kind)!);
  if (peer) processPeakRssMB[PEER_KIND] = await peakOf(peer);
  await Promise.all([...servers.values(), ...(peer ? [peer] : [])].map((s) => s.stop()));
  servers.clear();
  peer = undefined;

  log('Micro-benchmarks');
  // A failing micro-benchmark (e.g. the writer's deadline passing on a machine busy with other
  // work) is reported; it does not lose the figures measured above.
  let audit: AuditMicroResult[] = [];
  let auditError: string | undefined;
  try {
    audit = await auditWriterBench(e.scratchDb('audit'), config.auditSeconds, log);
  } catch (error) {
    auditError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    log(`  audit writer micro-benchmark failed: ${auditError}`);
  }
  const policy = policyBench(config.quick ? 100 : 400, log);
  let encoding: EncodingMicroResult[] = [];
  try {
    encoding = await encodingBench(e.scratchDb('encoding'), e.mongoCpuMicros, log, config.quick ? 512 : 2048);
  } catch (error) {
    log(`  evidence encoding micro-benchmark failed: ${error instanceof Error ? error.message : String(error)}`);
  }

  const figures: ScenarioFigures[] = scenarios.map((scenario) => {
    const byKind = probes.get(scenario.id)!;
    const server = (kind: ServerKind): ServerFigures => {
      const p = byKind.get(kind)!;
      return {
        ...summariseRuns(runs, scenario.id, kind),
        upstreamPerQuery: p.upstreamPerQuery,
        restCallsPerQuery: p.restCallsPerQuery,
        callsByDataset: p.callsByDataset,
        auditPerQuery: p.auditPerQuery,
        auditDocsPerQuery: p.auditDocsPerQuery,
      };
    };
    const diagnostic = config.decompose ? server(DIAGNOSTIC) : undefined;
    const servers = { ceiling: server('ceiling'), plain: server('plain'), hub: server('hub'), ...(diagnostic ? { [DIAGNOSTIC]: diagnostic } : {}) };
    const ratio = (x: number, y: number) => (y > 0 ? Math.round((x / y) * 1000) / 1000 : Number.NaN);
    const dProbe = peerProbes.get(scenario.id);
    const hasD = dProbe !== undefined && peerRuns.some((r) => r.scenario === scenario.id);
    const d: ServerFigures | undefined = hasD
      ? {
        ...summarisePeerRuns(peerRuns, scenario.id, PEER_KIND),
        upstreamPerQuery: dProbe.upstreamPerQuery,
        restCallsPerQuery: dProbe.restCallsPerQuery,
        callsByDataset: dProbe.callsByDataset,
        auditPerQuery: null,
        auditDocsPerQuery: null,
      }
      : undefined;
    return {
      id: scenario.id,
      title: scenario.title,
      distinctResources: scenario.distinctResources,
      servers,
      ...(d ? { peers: { [PEER_KIND]: d } } : {}),
      ratios: {
        cOverB: ratio(servers.hub.rps, servers.plain.rps),
        cOverA: ratio(servers.hub.rps, servers.ceiling.rps),
        cPrimeOverB: diagnostic ? ratio(diagnostic.rps, servers.plain.rps) : null,
        cOverCPrime: diagnostic ? ratio(servers.hub.rps, diagnostic.rps) : null,
        cOverBRounds: roundRatios(runs, scenario.id, 'plain'),
        cOverARounds: roundRatios(runs, scenario.id, 'ceiling'),
        cOverD: d ? ratio(servers.hub.rps, d.rps) : null,
        cOverDRounds: d ? peerRoundRatios(runs, peerRuns, scenario.id, PEER_KIND) : [],
      },
      sameData: same.get(scenario.id)!,
    };
  });

  const { out, ...shownConfig } = config;
  const results: BenchResults = {
    generatedAt: new Date().toISOString(),
    durationSeconds: Math.round((performance.now() - started) / 1000),
    machine: describeMachine(e.mongoDescription),
    revision,
    config: shownConfig,
    scenarios: figures,
    processPeakRssMB,
    peers: [hiveStatus],
    micro: { audit, policy, encoding, ...(auditError ? { auditError } : {}) },
    scaling,
    profiles,
    goals: evaluateGoals(figures, audit, policy, [hiveStatus]),
    runs,
    peerRuns,
  };
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify(results, null, 2) + '\n');

  log(`\n== Results (medians of ${config.rounds} round(s)) — ${machineText(results)}\n`);
  log(scenarioTable(results));
  log(`\n${ratioTable(results)}`);
  log(`\n${peersText(results)}`);
  log(`\nprocess peak RSS MB: ${Object.entries(processPeakRssMB).map(([k, v]) => `${k === PEER_KIND ? PEER_LABEL : LABELS[k as ServerKind]} ${v}`).join(', ')}`);
  log(`\n${microTables(results)}`);
  if (profiles.length) log(`\n== Where the time goes\n\n${profileText(results)}`);
  log(`\n== Goals (reported, not enforced)\n${goalsText(results)}`);
  log(`\nWrote ${out} (${results.durationSeconds} s)`);
}

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await tearDown();
}
