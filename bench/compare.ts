/**
 * Do the three servers return the same data? (a) and (b) must answer byte-for-byte the same JSON
 * values. (c) must answer (b)'s values after the hub's obligations: items the policy serves masked
 * are masked (computed here with the hub's own policy functions), everything else equal.
 */
import { isDeepStrictEqual } from 'node:util';
import { compilePolicy, decideRead, maskValue, type Principal } from '../policies/index.ts';
import type { Catalogue, Grant } from '../schema/index.ts';
import { BATCH_SIZE, type Operation, type Selection } from './scenarios.ts';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The first path where two JSON values differ, or null when they are equal. */
export function firstDifference(a: unknown, b: unknown, path = '$'): string | null {
  if (isDeepStrictEqual(a, b)) return null;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${path}.length (${a.length} ≠ ${b.length})`;
    for (let i = 0; i < a.length; i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
  }
  if (isObject(a) && isObject(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDifference(a[k], b[k], `${path}.${k}`);
      if (d) return d;
    }
  }
  return `${path} (${JSON.stringify(a)?.slice(0, 60)} ≠ ${JSON.stringify(b)?.slice(0, 60)})`;
}

/** (b)'s body as the hub should serve it: masked items masked per the compiled policy. */
export function expectedHubBody(plainBody: unknown, op: Operation, catalogue: Catalogue, today: string): unknown {
  if (op.plan.shape === 'verify' || op.deniedCode) return plainBody;
  const system = catalogue.systems.find((s) => s.code === op.system);
  const purpose = catalogue.purposes.find((p) => p.code === op.purpose);
  if (!system || !purpose) throw new Error(`unknown system ${op.system} or purpose ${op.purpose}`);
  const principal: Principal = { kind: 'system', id: system.code, department: system.department };
  const grants: Grant[] = catalogue.grants
    .filter((g) => g.consumer === system.department)
    .map((g) => ({ ...g, version: g.version ?? 1, status: g.status ?? 'approved' }));
  const policy = compilePolicy(principal, purpose, catalogue.resources, grants, today);
  const batchSize = op.plan.shape === 'persons' ? BATCH_SIZE : 1;
  const masks = new Map<string, Map<string, (v: unknown) => unknown>>();
  for (const s of op.plan.selections as readonly Selection[]) {
    const r = catalogue.resources.find((x) => x.subject === 'person' && x.field === s.field)!;
    const decision = decideRead(policy, r, [...s.items].sort(), { principal, departmentGrants: grants, today, batchSize });
    if (!decision.allowed) throw new Error(`the bench asks for ${r.code}, which ${op.system} may not read: ${decision.refusal.message}`);
    masks.set(s.field, new Map(decision.permits.map((p) => [p.item, (v: unknown) => (p.access === 'masked' ? maskValue(p.mask, v) : v)])));
  }
  const apply = (person: unknown): unknown => {
    if (!isObject(person)) return person;
    const out: Json = { ...person };
    for (const [field, items] of masks) {
      const record = person[field];
      if (!isObject(record)) continue;
      out[field] = Object.fromEntries(Object.entries(record).map(([item, v]) => [item, items.has(item) ? items.get(item)!(v) : v]));
    }
    return out;
  };
  const body = structuredClone(plainBody) as { data?: { access?: { person?: unknown; persons?: unknown[] } } };
  const access = body.data?.access;
  if (access?.person !== undefined) access.person = apply(access.person);
  if (Array.isArray(access?.persons)) access.persons = access.persons.map(apply);
  return body;
}
