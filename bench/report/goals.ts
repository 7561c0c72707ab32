/**
 * The issue's goals, evaluated on the figures. The benchmark reports them; it never fails on them.
 */
import type { AuditMicroResult } from '../micro/audit.ts';
import type { PolicyMicroResult } from '../micro/policy.ts';
import { PEER_KIND } from '../peer.ts';
import type { Goal, PeerStatus, ScenarioFigures } from './results.ts';

const fixed = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');

export function evaluateGoals(
  scenarios: readonly ScenarioFigures[],
  audit: readonly AuditMicroResult[],
  policy: readonly PolicyMicroResult[],
  peers: readonly PeerStatus[] = [],
): Goal[] {
  const goals: Goal[] = [];
  for (const s of scenarios) {
    goals.push({ name: `c/b, ${s.title}`, target: '≥ 1.0', figure: fixed(s.ratios.cOverB), met: s.ratios.cOverB >= 1 });
  }
  // Issue #8 raises c/a to 0.3 on one and batch; the others keep issue #3's 0.2.
  for (const s of scenarios) {
    const floor = s.id === 'one' || s.id === 'batch' ? 0.3 : 0.2;
    goals.push({ name: `c/a, ${s.title}`, target: `≥ ${floor}`, figure: fixed(s.ratios.cOverA), met: s.ratios.cOverA >= floor });
  }
  for (const s of scenarios) {
    const { hub, plain } = s.servers;
    goals.push({ name: `hub CPU per query ≤ plain Yoga's, ${s.title}`, target: `≤ ${fixed(plain.cpuMsPerQuery, 3)} ms`, figure: `${fixed(hub.cpuMsPerQuery, 3)} ms`, met: hub.cpuMsPerQuery <= plain.cpuMsPerQuery });
    goals.push({ name: `p99 of (c) ≤ 1.5 × p99 of (b), ${s.title}`, target: `≤ ${fixed(plain.p99Ms * 1.5, 1)} ms`, figure: `${fixed(hub.p99Ms, 1)} ms`, met: hub.p99Ms <= plain.p99Ms * 1.5 });
  }
  const one = scenarios.find((s) => s.id === 'one');
  if (one) {
    const mongo = one.servers.hub.mongoCpuMsPerQuery;
    goals.push({
      name: `MongoDB-wire server CPU per query (hub), ${one.title}`,
      target: '≤ 0.15 ms',
      figure: mongo === null ? 'n/a: not measured (server not started by the bench)' : `${fixed(mongo, 3)} ms`,
      met: mongo !== null && mongo <= 0.15,
    });
  }
  const hive = peers.find((p) => p.kind === PEER_KIND);
  for (const s of scenarios) {
    if (!hive?.scenarios.includes(s.id)) continue;
    const name = `c/d (hub over Hive Gateway), ${s.title}`;
    if (s.ratios.cOverD === null) {
      goals.push({ name, target: '≥ 2.0', figure: `n/a: (d) ${hive.status}${hive.reason ? ` (${hive.reason})` : ''}`, met: false });
    } else {
      const same = s.sameData.peerVsPlain;
      goals.push({ name, target: '≥ 2.0', figure: `${fixed(s.ratios.cOverD)}${same ? ` (but (d) ≠ (b): ${same})` : ''}`, met: s.ratios.cOverD >= 2 && !same });
    }
  }
  for (const s of scenarios) {
    const hub = s.servers.hub.upstreamPerQuery;
    goals.push({
      name: `upstream calls per query (hub), ${s.title}`,
      target: `= ${s.distinctResources} distinct resources`,
      figure: fixed(hub),
      met: Math.abs(hub - s.distinctResources) < 1e-9,
    });
  }
  const sweep = audit.filter((a) => a.sweep);
  if (sweep.length) {
    const best = sweep.reduce((a, b) => (b.recordsPerSecond > a.recordsPerSecond ? b : a));
    goals.push({
      name: 'audit writer throughput per instance, best batch size',
      target: '≥ 20 000 records/s',
      figure: `${best.recordsPerSecond} records/s at maxBatch ${best.maxBatch}`,
      met: best.recordsPerSecond >= 20_000,
    });
  }
  const at10k = policy.filter((p) => p.grants === 10_000);
  if (at10k.length) {
    const worst = at10k.reduce((a, b) => (b.checkUs > a.checkUs ? b : a));
    goals.push({
      name: 'policy check (ability.can) with 10 000 grants',
      target: '≤ 5 µs',
      figure: at10k.map((p) => `${p.checkUs} µs ${p.layout}`).join(', '),
      met: worst.checkUs <= 5,
    });
  }
  return goals;
}
