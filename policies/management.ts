/**
 * Who may do what on the management plane: CASL abilities compiled from a principal's role and
 * department, deny by default. Conditions name the department, so an officer acts only on objects
 * that name theirs: as consumer (apply, withdraw, escalate, file a demand) or as provider
 * (approve, reject, change grants, catalogue, answer demands). Rules are plain data and pass the
 * same validation as grants before use.
 */
import { createMongoAbility, subject as asSubject, type MongoAbility, type RawRuleOf } from '@casl/ability';
import type { Principal } from './types.ts';
import { ruleViolations } from './rules.ts';

export type ManagementSubject = 'Application' | 'Grant' | 'Resource' | 'Demand' | 'Token' | 'Consent' | 'AuditTrail' | 'Correction' | 'QualityReport' | 'Catalogue';
export type ManagementAbility = MongoAbility;

type Rule = RawRuleOf<ManagementAbility>;

/**
 * Condition operators the management rules use: field equality only (`{ provider: 'RS' }` is an
 * implicit `$eq`). The rules are validated against this list, so a rule that needs another operator
 * must add it here, consciously; the gateway also turns these conditions into MongoDB filters.
 */
export const MANAGEMENT_OPERATORS: ReadonlySet<string> = new Set(['$eq']);

function officerRules(department: string): Rule[] {
  const asConsumer = { consumer: department };
  const asProvider = { provider: department };
  return [
    { action: ['apply', 'withdraw', 'escalate', 'read'], subject: 'Application', conditions: asConsumer },
    { action: ['approve', 'reject', 'read'], subject: 'Application', conditions: asProvider },
    { action: 'read', subject: 'Grant', conditions: asConsumer },
    { action: ['read', 'suspend', 'resume', 'revoke'], subject: 'Grant', conditions: asProvider },
    { action: 'read', subject: 'Resource' },
    { action: ['register', 'update'], subject: 'Resource', conditions: asProvider },
    { action: ['file', 'read'], subject: 'Demand', conditions: asConsumer },
    { action: ['answer', 'read'], subject: 'Demand', conditions: asProvider },
    // 数据纠错: dispute a value served to the department, or flag a known error in its own data
    // (`consumer` of a correction request is the requesting department); the provider answers.
    { action: ['report', 'read'], subject: 'Correction', conditions: asConsumer },
    { action: ['answer', 'read'], subject: 'Correction', conditions: asProvider },
    // A resource's quality report (validity, freshness): its provider's officers.
    { action: 'read', subject: 'QualityReport', conditions: asProvider },
  ];
}

/**
 * A department system's only management rights: to dispute a value it was served (数据纠错) and to
 * read the requests it filed itself.
 */
function systemRules(principal: Principal): Rule[] {
  if (!principal.department || !principal.id) return [];
  return [{ action: ['report', 'read'], subject: 'Correction', conditions: { consumer: principal.department, requester: principal.id } }];
}

const ADMIN_RULES: readonly Rule[] = [
  { action: ['read', 'resolve'], subject: 'Application' },
  { action: 'read', subject: 'Grant' },
  { action: 'read', subject: 'Resource' },
  { action: ['read', 'assign'], subject: 'Demand' },
  { action: ['issue', 'revoke', 'read'], subject: 'Token' },
  { action: 'read', subject: 'AuditTrail' },
  // Re-read the catalogue files and connectors on the instance asked (as SIGHUP does).
  { action: 'reload', subject: 'Catalogue' },
  // The platform operator oversees data quality (数据质量) across departments.
  { action: 'read', subject: 'Correction' },
  { action: 'read', subject: 'QualityReport' },
];

const AUDITOR_RULES: readonly Rule[] = [
  { action: ['read', 'disclose'], subject: 'AuditTrail' },
  { action: 'read', subject: 'Application' },
  { action: 'read', subject: 'Grant' },
  { action: 'read', subject: 'Demand' },
  { action: 'read', subject: 'Correction' },
  { action: 'read', subject: 'QualityReport' },
];

const PORTAL_RULES: readonly Rule[] = [
  { action: ['record', 'withdraw', 'read'], subject: 'Consent' },
  // The data subject's view of the trail (who used my data, when, why), nothing more.
  { action: 'read_subject', subject: 'AuditTrail' },
];

/** Fresh rule objects for each caller: the shared tables are never handed out to be changed. */
const copy = (rules: readonly Rule[]): Rule[] => rules.map((r) => ({ ...r }));

/**
 * The raw rules of a principal. Beyond the baseline: an auditor also reads demands and may disclose
 * confidential entries early; the portal reads a data subject's own view of the trail; a system
 * disputes values it was served and reads its own correction requests.
 */
export function managementRules(principal: Principal): Rule[] {
  switch (principal.kind) {
    case 'officer':
      return principal.department ? officerRules(principal.department) : [];
    case 'admin':
      return copy(ADMIN_RULES);
    case 'auditor':
      return copy(AUDITOR_RULES);
    case 'portal':
      return copy(PORTAL_RULES);
    case 'system':
      return systemRules(principal);
  }
}

/** The principal's management ability, deny by default; throws if its rules fail validation (defence in depth). */
export function managementAbility(principal: Principal): ManagementAbility {
  const rules = managementRules(principal);
  const problems = ruleViolations(rules, MANAGEMENT_OPERATORS);
  if (problems.length > 0) throw new Error(`management rules of ${principal.kind} are invalid: ${problems.join('; ')}`);
  return createMongoAbility(rules);
}

/**
 * Whether `ability` allows `action` on a plain object of the given type. Always ask about an object:
 * CASL answers `can(action, 'Type')` with yes whenever some rule exists, whatever its conditions.
 */
export function canManage(ability: ManagementAbility, action: string, type: ManagementSubject, object: object): boolean {
  return ability.can(action, asSubject(type, { ...object }));
}
