/**
 * Policy cost as grants grow: `compilePolicy` for one department holding 10 … 10 000 grants (all
 * in force and applying to the checked purpose, so every one becomes CASL rules), then
 * `ability.can` and `decideRead` on random resources and items.
 *
 * Two layouts: `spread` — grants over max(10, grants/10) resources (≤ 10 grants per resource, the
 * common shape); `dense` — all grants over 10 resources (up to 1 000 grants on one resource, the
 * worst case for CASL, which scans a resource's rules for a matching field).
 */
import { compilePolicy, decideRead, type Action, type CompiledPolicy, type Principal } from '../../policies/index.ts';
import { seededRandom, type Grant, type ItemAccess, type Purpose, type Resource } from '../../schema/index.ts';

export const GRANT_COUNTS = [10, 100, 1_000, 10_000] as const;
export type Layout = 'spread' | 'dense';

export interface PolicyMicroResult {
  readonly grants: number;
  readonly layout: Layout;
  readonly resources: number;
  readonly rules: number;
  readonly compileMs: number;
  /** One `ability.can(action, resource, item)`, random action / resource / item (≈ half denied). */
  readonly checkUs: number;
  /** One `decideRead` of 4 items (what a resource field costs per subject). */
  readonly decideReadUs: number;
}

const ITEMS = 8;
const TODAY = '2026-11-22';
const PRINCIPAL: Principal = { kind: 'system', id: 'mz-dibao', department: 'MZ' };
const PURPOSE: Purpose = { code: 'BENCH-PURPOSE-001', name: 'bench', legalBasis: 'bench', departments: ['MZ'] };
const ACCESS: readonly ItemAccess[] = ['clear', 'masked', 'verify', 'clear'];
const ACTIONS: readonly Action[] = ['read', 'read_masked', 'verify'];

function resources(count: number): Resource[] {
  return Array.from({ length: count }, (_, i) => ({
    code: `BENCH-R${i}`,
    name: `resource ${i}`,
    field: `r${i}`,
    provider: 'GA',
    summary: 'synthetic',
    subject: 'person',
    level: 'general',
    sharing: 'conditional',
    binding: { connector: 'none', dataset: `d${i}`, keyField: 'idNumber' },
    items: Array.from({ length: ITEMS }, (_, k) => ({
      name: `item${k}`, title: `item ${k}`, type: 'string', classification: 'personal', mask: k % 2 ? 'name' : 'none',
    })),
  }));
}

function grants(count: number, over: readonly Resource[]): Grant[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `G-BENCH-${i}`,
    version: 1,
    resource: over[i % over.length]!.code,
    consumer: 'MZ',
    purposes: [PURPOSE.code],
    items: ACCESS.map((access, k) => ({ name: `item${(i + k * 2) % ITEMS}`, access })),
    validFrom: '2026-01-01',
    validUntil: '2099-12-31',
    status: 'approved',
  }));
}

/** Runs `fn` in rounds until `budgetMs` is spent (at least once, at most `maxRuns` times); ms per run. */
function timePerRun(fn: () => void, budgetMs: number, maxRuns: number): number {
  const samples: number[] = [];
  const end = performance.now() + budgetMs;
  do {
    const t = performance.now();
    fn();
    samples.push(performance.now() - t);
  } while (performance.now() < end && samples.length < maxRuns);
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

function perCallUs(calls: number, fn: (i: number) => void, budgetMs: number): number {
  for (let i = 0; i < Math.min(calls, 10_000); i++) fn(i); // warm the JIT and CASL's lazy indexes
  let done = 0;
  const started = performance.now();
  const end = started + budgetMs;
  while (performance.now() < end && done < calls * 50) {
    for (let i = 0; i < calls; i++) fn(done + i);
    done += calls;
  }
  return ((performance.now() - started) * 1000) / done;
}

function measureOne(count: number, layout: Layout, budgetMs: number): PolicyMicroResult {
  const rs = resources(layout === 'spread' ? Math.max(10, count / 10) : 10);
  const gs = grants(count, rs);
  let policy: CompiledPolicy | undefined;
  const compileMs = timePerRun(() => (policy = compilePolicy(PRINCIPAL, PURPOSE, rs, gs, TODAY)), budgetMs, 50);
  const compiled = policy!;
  const random = seededRandom(count);
  const probes = Array.from({ length: 4096 }, () => ({
    r: rs[Math.floor(random() * rs.length)]!,
    item: `item${Math.floor(random() * ITEMS)}`,
    action: ACTIONS[Math.floor(random() * ACTIONS.length)]!,
    asked: Array.from({ length: 4 }, (_, k) => `item${(Math.floor(random() * ITEMS) + k) % ITEMS}`),
  }));
  let sink = 0;
  const checkUs = perCallUs(probes.length, (i) => {
    const p = probes[i % probes.length]!;
    if (compiled.ability.can(p.action, p.r.code, p.item)) sink++;
  }, budgetMs);
  const ctx = { principal: PRINCIPAL, departmentGrants: gs, today: TODAY, batchSize: 1 };
  const decideReadUs = perCallUs(probes.length, (i) => {
    const p = probes[i % probes.length]!;
    if (decideRead(compiled, p.r, p.asked, ctx).allowed) sink++;
  }, budgetMs);
  if (sink < 0) throw new Error('unreachable');
  const round = (n: number, d: number) => Math.round(n * 10 ** d) / 10 ** d;
  return {
    grants: count,
    layout,
    resources: rs.length,
    rules: compiled.ability.rules.length,
    compileMs: round(compileMs, 3),
    checkUs: round(checkUs, 3),
    decideReadUs: round(decideReadUs, 3),
  };
}

export function policyBench(budgetMs: number, log: (line: string) => void): PolicyMicroResult[] {
  const results: PolicyMicroResult[] = [];
  for (const layout of ['spread', 'dense'] as const) {
    for (const count of GRANT_COUNTS) {
      const r = measureOne(count, layout, budgetMs);
      results.push(r);
      log(`  policy ${layout.padEnd(6)} ${String(count).padStart(6)} grants (${r.rules} rules, ${r.resources} resources): compile ${r.compileMs} ms, can() ${r.checkUs} µs, decideRead ${r.decideReadUs} µs`);
    }
  }
  return results;
}
