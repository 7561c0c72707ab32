/**
 * Grants + purpose → a CASL ability for one consumer system under one purpose.
 *
 * Rules are plain data. Actions: `read` (serve clear), `read_masked` (serve de-identified),
 * `verify` (answer match / no match only). Subjects are resource codes, fields are item names.
 * Deny by default: what no rule allows is refused.
 */
import { createMongoAbility, type MongoAbility, type RawRuleOf } from '@casl/ability';
import type { Grant, Purpose, Resource } from '../schema/index.ts';
import { ruleViolations } from './rules.ts';
import type { GrantRef, Principal } from './types.ts';

export type Action = 'read' | 'read_masked' | 'verify';
export type HubAbility = MongoAbility<[Action, string]>;

export interface CompiledPolicy {
  readonly ability: HubAbility;
  readonly purpose: Purpose;
  /** Per resource with grants in force: their audit references, and the limits they set. */
  readonly grantSummary: ReadonlyMap<string, GrantSummary>;
}

/** Verification attempts per (system, subject, resource) per day when no grant sets them. */
export const DEFAULT_VERIFY_ATTEMPTS = 5;

export interface GrantSummary {
  readonly refs: readonly GrantRef[];
  /** The largest `quota.maxBatch` among the grants, or undefined when any grant sets none. */
  readonly maxBatch: number | undefined;
  /**
   * Daily quotas to charge, in order: a request is served while one of them has room. Empty when
   * some grant in force sets no daily quota (nothing to count).
   */
  readonly daily: ReadonlyArray<{ readonly grant: GrantRef; readonly perDay: number }>;
  /** Verification attempts allowed per (system, subject, resource) per day. */
  readonly verifyPerDay: number;
  /** Items that are served only under a consent in force (every biometric item, and those a grant marks). */
  readonly consentItems: ReadonlySet<string>;
}

function summarize(grants: readonly Grant[], r: Resource | undefined): GrantSummary {
  const limits = grants.map((g) => g.quota?.maxBatch);
  const maxBatch = limits.some((x) => x === undefined) ? undefined : Math.max(...(limits as number[]));
  const unlimited = grants.some((g) => g.quota?.perDay === undefined);
  const daily = unlimited ? [] : grants.map((g) => ({ grant: grantRef(g), perDay: g.quota!.perDay! }));
  const verifyPerDay = Math.max(...grants.map((g) => g.quota?.verifyPerDay ?? DEFAULT_VERIFY_ATTEMPTS));
  const biometric = new Set((r?.items ?? []).filter((i) => i.classification === 'biometric').map((i) => i.name));
  const consentItems = new Set<string>();
  for (const g of grants) for (const i of g.items) if (i.consent || biometric.has(i.name)) consentItems.add(i.name);
  return { refs: grants.map(grantRef), maxBatch, daily, verifyPerDay, consentItems };
}

export function grantRef(g: Grant): GrantRef {
  return { id: g.id, version: g.version };
}

/** A grant is in force on `today` when approved and today lies within its period. */
export function grantInForce(g: Grant, today: string): boolean {
  return g.status === 'approved' && g.validFrom <= today && today <= g.validUntil;
}

/** Whether a grant applies to this caller and purpose, regardless of status and period. */
export function grantApplies(g: Grant, principal: Principal, purpose: string): boolean {
  return g.consumer === principal.department
    && g.purposes.includes(purpose)
    && (!g.systems || g.systems.length === 0 || g.systems.includes(principal.id));
}

export function compilePolicy(
  principal: Principal,
  purpose: Purpose,
  resources: readonly Resource[],
  departmentGrants: readonly Grant[],
  today: string,
): CompiledPolicy {
  // Fields per (resource, action), merged across the catalogue default and every grant in force,
  // so the ability holds at most three rules per resource however many grants there are.
  const fields = new Map<string, Record<Action, Set<string>>>();
  const add = (resource: string, action: Action, item: string) => {
    let entry = fields.get(resource);
    if (!entry) fields.set(resource, (entry = { read: new Set(), read_masked: new Set(), verify: new Set() }));
    entry[action].add(item);
  };
  const allowedResource = (code: string) => !purpose.resources || purpose.resources.includes(code);

  for (const r of resources) {
    if (r.sharing !== 'unconditional' || !allowedResource(r.code)) continue;
    // 无条件共享: every registered department may read it for its duties, shown with the catalogue's
    // default masks. Biometric items always need a grant (and consent).
    for (const i of r.items) {
      if (i.classification !== 'biometric') add(r.code, i.mask === 'none' ? 'read' : 'read_masked', i.name);
    }
  }

  const byResource = new Map<string, Grant[]>();
  const sharing = new Map(resources.map((r) => [r.code, r.sharing]));
  for (const g of departmentGrants) {
    if (!grantInForce(g, today) || !grantApplies(g, principal, purpose.code) || !allowedResource(g.resource)) continue;
    if (sharing.get(g.resource) === 'none' || !sharing.has(g.resource)) continue;
    for (const item of g.items) add(g.resource, item.access === 'clear' ? 'read' : item.access === 'masked' ? 'read_masked' : 'verify', item.name);
    const list = byResource.get(g.resource) ?? [];
    list.push(g);
    byResource.set(g.resource, list);
  }

  const rules: RawRuleOf<HubAbility>[] = [];
  for (const [subject, byAction] of fields) {
    for (const action of ['read', 'read_masked', 'verify'] as const) {
      if (byAction[action].size) rules.push({ action, subject, fields: [...byAction[action]] });
    }
  }
  // Defence in depth: the compiled rules pass the same validation as stored grants.
  const problems = ruleViolations(rules);
  if (problems.length > 0) throw new Error(`compiled policy refused: ${problems.join('; ')}`);
  const byCode = new Map(resources.map((r) => [r.code, r]));
  const grantSummary = new Map([...byResource].map(([code, grants]) => [code, summarize(grants, byCode.get(code))]));
  return { ability: createMongoAbility<HubAbility>(rules), purpose, grantSummary };
}
