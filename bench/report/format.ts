/**
 * The printed report: plain-text tables of the same figures the JSON holds.
 */
import { PEER_KIND, PEER_LABEL } from '../peer.ts';
import type { BenchResults, ServerFigures } from './results.ts';

const KIND_LABEL = { ceiling: '(a) ceiling', plain: '(b) plain', hub: '(c) hub', 'hub-noaudit': '(c′) no audit', [PEER_KIND]: PEER_LABEL } as const;

function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>, alignLeft = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i < alignLeft ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const n = (v: number | null | undefined, d = 1) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(d));
const int = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : String(Math.round(v)));

export function scenarioTable(results: BenchResults): string {
  const rows: string[][] = [];
  for (const s of results.scenarios) {
    const rowsOf: Array<[keyof typeof KIND_LABEL, ServerFigures | undefined]> = [
      ...(['ceiling', 'plain', 'hub', 'hub-noaudit'] as const).map((kind): [keyof typeof KIND_LABEL, ServerFigures | undefined] => [kind, s.servers[kind]]),
      [PEER_KIND, s.peers?.[PEER_KIND]],
    ];
    for (const [kind, f] of rowsOf) {
      if (!f) continue;
      rows.push([
        kind === 'ceiling' ? s.title : '',
        KIND_LABEL[kind],
        n(f.rps),
        n(f.p50Ms, 2),
        n(f.p99Ms, 2),
        n(f.cpuMsPerQuery, 3),
        n(f.loopBusyPercent, 0),
        n(f.mongoCpuMsPerQuery, 3),
        n(f.departmentsCpuMsPerQuery, 3),
        n(f.loadCpuMsPerQuery, 3),
        n(f.machineBusyPercent, 0),
        n(f.upstreamPerQuery, 2),
        n(f.loadRestCallsPerQuery, 2),
        f.auditPerQuery === null ? '–' : n(f.auditPerQuery, 0),
        int(f.auditPerSecond),
        f.auditPerSecond === null || !f.auditWritesPerSecond ? '–' : n(f.auditPerSecond / f.auditWritesPerSecond, 1),
        f.auditWriteMs === null ? '–' : n(f.auditWriteMs, 2),
        n(f.peakRssMB),
        f.non2xx || f.errors ? `${f.non2xx}/${f.errors}` : '0',
      ]);
    }
  }
  return table(['scenario', 'server', 'req/s', 'p50 ms', 'p99 ms', 'CPU ms/q', 'loop %', 'mongo ms/q', 'dept ms/q', 'load ms/q', 'busy %', 'upstream/q', 'REST calls/q', 'audit/q', 'audit rec/s', 'rec/write', 'write ms', 'peak RSS MB', 'non2xx/err'], rows, 2);
}

export function ratioTable(results: BenchResults): string {
  const rounds = (xs: readonly number[]) => (xs.length ? xs.map((x) => n(x, 2)).join(' ') : '–');
  return table(['scenario', 'c/b', 'c/a', 'c′/b', 'c/c′', 'c/d', 'c/b per round', 'c/a per round', 'c/d per round'], results.scenarios.map((s) => [
    s.title, n(s.ratios.cOverB, 2), n(s.ratios.cOverA, 2), n(s.ratios.cPrimeOverB, 2), n(s.ratios.cOverCPrime, 2), n(s.ratios.cOverD, 2),
    rounds(s.ratios.cOverBRounds), rounds(s.ratios.cOverARounds), rounds(s.ratios.cOverDRounds),
  ]));
}

/** One line per peer: measured (versions, composition time) or why not. */
export function peersText(results: BenchResults): string {
  return results.peers.map((p) => {
    const versions = Object.entries(p.versions).map(([k, v]) => `${k} ${v}`).join(', ');
    if (p.status !== 'measured') return `${p.label}: ${p.status}${p.reason ? ` — ${p.reason}` : ''}`;
    const same = results.scenarios.filter((s) => p.scenarios.includes(s.id)).map((s) => `${s.id}: ${s.sameData.peerVsPlain ?? 'same data as (b)'}`).join('; ');
    return `${p.label} (${versions}; supergraph composed in ${n(p.composeMs ?? Number.NaN, 0)} ms at start) — ${same}`;
  }).join('\n');
}

export function microTables(results: BenchResults): string {
  const parts: string[] = [];
  if (results.micro.auditError) parts.push(`audit writer micro-benchmark failed: ${results.micro.auditError}`);
  if (results.micro.audit.length) {
    parts.push(table(['audit writer maxBatch', 'maxInFlight', 'indexes', 'records/s', 'records', 'seconds', 'appends waiting'],
      results.micro.audit.map((a) => [String(a.maxBatch), String(a.maxInFlight), `${a.indexes === 'hub' ? 'hub' : 'forced'} (${a.secondaryIndexes ?? '?'})`, int(a.recordsPerSecond), int(a.records), n(a.seconds, 2), int(a.concurrency)]), 3));
  }
  if (results.micro.encoding?.length) {
    parts.push(table(['evidence encoding', 'records/block', 'inserts', 'ms/insert', 'server CPU ms/insert', 'server CPU µs/record'],
      results.micro.encoding.map((x) => [x.encoding, String(x.recordsPerBlock), int(x.blocks), n(x.msPerInsert, 3), x.serverCpuMsPerInsert === null ? '–' : n(x.serverCpuMsPerInsert, 3), x.serverCpuUsPerRecord === null ? '–' : int(x.serverCpuUsPerRecord)]), 2));
  }
  parts.push(table(['policy layout', 'grants', 'rules', 'resources', 'compile ms', 'can() µs', 'decideRead µs'],
    results.micro.policy.map((p) => [p.layout, String(p.grants), String(p.rules), String(p.resources), n(p.compileMs, 3), n(p.checkUs, 3), n(p.decideReadUs, 3)]), 1));
  if (results.scaling) {
    const s = results.scaling;
    parts.push(table(['hub processes', 'req/s', 'p50 ms', 'p99 ms', 'CPU ms/q', 'mongo ms/q', 'audit rec/s', 'peak RSS MB (sum)'],
      [s.one, s.two].map((x) => [String(x.processes), n(x.rps), n(x.p50Ms, 2), n(x.p99Ms, 2), n(x.cpuMsPerQuery, 3), n(x.mongoCpuMsPerQuery, 3), int(x.auditPerSecond), n(x.peakRssMB)]))
      + `\nscaling (${s.scenario}): ×${n(s.speedup, 2)} with 2 processes — ${s.method}`);
  }
  return parts.join('\n\n');
}

export function profileText(results: BenchResults): string {
  return results.profiles.map((p) => {
    const cats = p.summary.byCategory.slice(0, 8).map((c) => `${c.category} ${c.percent}%`).join(', ');
    const top = p.summary.topSelf.slice(0, 10).map((e) => `    ${String(e.percent).padStart(5)}%  ${e.function}  ${e.location}`).join('\n');
    const incl = p.summary.topInclusive.slice(0, 8).map((e) => `    ${String(e.percent).padStart(5)}%  ${e.function}  ${e.location}`).join('\n');
    return `${KIND_LABEL[p.server]} × ${p.scenario} (${p.rpsUnderProfiler} req/s under the profiler, busy ${p.summary.busyPercent}%)\n  by package: ${cats}\n  top self time:\n${top}\n  hub code, inclusive:\n${incl || '    –'}`;
  }).join('\n\n');
}

export function goalsText(results: BenchResults): string {
  return results.goals.map((g) => `  [${g.met ? 'met' : 'NOT MET'}] ${g.name}: ${g.figure} (goal ${g.target})`).join('\n');
}

export function machineText(results: BenchResults): string {
  const m = results.machine;
  const r = results.revision;
  const code = r.commit ? `; code ${r.commit}${r.changedOutsideBench.length ? ` + ${r.changedOutsideBench.length} changed file(s)` : ''}` : '';
  return `${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGB} GB, Node ${m.node}, ${m.os}; ${m.mongo}${code}`;
}
