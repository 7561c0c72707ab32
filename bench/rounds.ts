/**
 * The side-by-side measurement with the peers in it: measure.ts's rotated rounds (every scenario
 * on every server, the order rotated per round and scenario, medians over rounds), where a peer
 * takes its turn in the rotation of the scenarios it answers, with its own request bodies. Without
 * a peer, the runs are exactly measure.ts's. A peer whose run fails is dropped from the rest of
 * the rounds (and reported unavailable); a failing (a)–(c′) still fails the benchmark.
 */
import type { BenchConfig } from './config.ts';
import type { BenchEnvironment } from './environment.ts';
import { loadRun, measuredLoad, summariseRuns, type RunRecord, type ServerSummary } from './measure.ts';
import type { PeerKind } from './peer.ts';
import type { Scenario, ScenarioId } from './scenarios.ts';
import type { ServerHandle } from './servers/control.ts';
import type { PeerHandle } from './servers/peer-control.ts';
import type { ServerKind } from './servers/protocol.ts';

export interface MeasuredPeer {
  readonly kind: PeerKind;
  readonly handle: PeerHandle;
  /** The peer's request bodies per scenario it answers. */
  readonly bodies: ReadonlyMap<ScenarioId, readonly string[]>;
}

/** A peer's load run: the same figures as a RunRecord's (no audit). */
export interface PeerRunRecord extends Omit<RunRecord, 'server'> {
  readonly server: PeerKind;
}

type RunFigures = Omit<RunRecord, 'round' | 'server' | 'scenario'>;

/** One bounded load run against a peer, measured as loadRun measures (a) and (b). */
export async function peerLoadRun(env: BenchEnvironment, peer: MeasuredPeer, scenario: Scenario, seconds: number, config: BenchConfig): Promise<RunFigures> {
  const bodies = peer.bodies.get(scenario.id);
  if (!bodies) throw new Error(`${peer.handle.label} does not answer scenario ${scenario.id}`);
  return { ...(await measuredLoad(env, peer.handle, bodies, scenario, seconds, config)), auditPerSecond: null, auditDocsPerSecond: null, auditWritesPerSecond: null, auditWriteMs: null };
}

interface Participant {
  readonly name: ServerKind | PeerKind;
  answers(scenario: Scenario): boolean;
  run(scenario: Scenario, seconds: number): Promise<RunFigures>;
}

export async function measureRounds(
  env: BenchEnvironment,
  servers: ReadonlyMap<ServerKind, ServerHandle>,
  peers: readonly MeasuredPeer[],
  scenarios: readonly Scenario[],
  config: BenchConfig,
  log: (line: string) => void,
): Promise<{ runs: RunRecord[]; peerRuns: PeerRunRecord[]; peerFailures: Map<PeerKind, string> }> {
  const peerFailures = new Map<PeerKind, string>();
  const participants: Participant[] = [
    ...[...servers.entries()].map(([kind, handle]): Participant => ({
      name: kind,
      answers: () => true,
      run: (scenario, seconds) => loadRun(env, handle, scenario, seconds, config),
    })),
    ...peers.map((peer): Participant => ({
      name: peer.kind,
      answers: (scenario) => peer.bodies.has(scenario.id),
      run: (scenario, seconds) => peerLoadRun(env, peer, scenario, seconds, config),
    })),
  ];
  const peerKinds = new Set<string>(peers.map((p) => p.kind));
  const alive = (p: Participant) => !peerFailures.has(p.name as PeerKind);
  /** Runs one participant; a peer's failure drops it (null), anyone else's is thrown. */
  const attempt = async (p: Participant, scenario: Scenario, seconds: number): Promise<RunFigures | null> => {
    if (!peerKinds.has(p.name)) return p.run(scenario, seconds);
    try {
      return await p.run(scenario, seconds);
    } catch (error) {
      const reason = `load run on ${scenario.id} failed: ${error instanceof Error ? error.message : String(error)}`;
      peerFailures.set(p.name as PeerKind, reason);
      log(`  ${p.name} dropped from the rounds: ${reason}`);
      return null;
    }
  };
  if (config.warmupSeconds > 0) {
    log(`Warm-up: ${config.warmupSeconds} s per server × scenario`);
    for (const scenario of scenarios) {
      for (const p of participants) if (p.answers(scenario) && alive(p)) await attempt(p, scenario, config.warmupSeconds);
    }
  }
  const runs: RunRecord[] = [];
  const peerRuns: PeerRunRecord[] = [];
  for (let round = 1; round <= config.rounds; round++) {
    for (const [s, scenario] of scenarios.entries()) {
      const here = participants.filter((p) => p.answers(scenario));
      const shift = (round - 1 + s) % here.length;
      const order = [...here.slice(shift), ...here.slice(0, shift)];
      for (const p of order) {
        if (!alive(p)) continue;
        const result = await attempt(p, scenario, config.seconds);
        if (result === null) continue;
        if (peerKinds.has(p.name)) peerRuns.push({ round, server: p.name as PeerKind, scenario: scenario.id, ...result });
        else runs.push({ round, server: p.name as ServerKind, scenario: scenario.id, ...result });
        const l = result.load;
        log(`  round ${round} ${scenario.id.padEnd(6)} ${p.name.padEnd(12)} ${String(l.rps).padStart(8)} req/s  p50 ${l.p50Ms} ms  p99 ${l.p99Ms} ms${l.non2xx || l.errors ? `  non-2xx ${l.non2xx} errors ${l.errors}` : ''}`);
      }
    }
  }
  // A peer dropped midway has no comparable figures: its partial runs are discarded.
  return { runs, peerRuns: peerRuns.filter((r) => !peerFailures.has(r.server)), peerFailures };
}

/** A peer's medians over rounds, computed as measure.ts's summariseRuns computes (a)–(c)'s. */
export function summarisePeerRuns(peerRuns: readonly PeerRunRecord[], scenario: ScenarioId, kind: PeerKind): ServerSummary {
  // summariseRuns selects by server kind; the peer's records are relabelled for it (same fields).
  const relabelled: RunRecord[] = peerRuns.filter((r) => r.server === kind).map((r) => ({ ...r, server: 'plain' }));
  return summariseRuns(relabelled, scenario, 'plain');
}

/** (c)/(peer) per round, from the paired runs of the same round. */
export function peerRoundRatios(runs: readonly RunRecord[], peerRuns: readonly PeerRunRecord[], scenario: ScenarioId, kind: PeerKind): number[] {
  const rounds = [...new Set(peerRuns.map((r) => r.round))];
  return rounds.flatMap((round) => {
    const hub = runs.find((r) => r.round === round && r.scenario === scenario && r.server === 'hub');
    const peer = peerRuns.find((r) => r.round === round && r.scenario === scenario && r.server === kind);
    return hub && peer && peer.load.rps > 0 ? [Math.round((hub.load.rps / peer.load.rps) * 1000) / 1000] : [];
  });
}
