import type { Grant, ItemAccess, MaskKind, Purpose } from '../schema/index.ts';

/** Why something was refused. `code` becomes the GraphQL `extensions.code`. */
export type RefusalCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'PURPOSE_REQUIRED'
  | 'PURPOSE_INVALID'
  | 'GRANT_EXPIRED'
  | 'QUOTA_EXCEEDED'
  | 'CONSENT_REQUIRED'
  | 'BAD_USER_INPUT';

/** Why, in a word, a request or item was refused; audited beside the code. */
export type DenialReason =
  | 'NOT_SHARED'
  | 'OUTSIDE_PURPOSE'
  | 'NO_GRANT'
  | 'GRANT_EXPIRED'
  | 'GRANT_NOT_YET_VALID'
  | 'GRANT_SUSPENDED'
  | 'GRANT_REVOKED'
  | 'BATCH_TOO_LARGE'
  | 'QUOTA_EXCEEDED'
  | 'VERIFY_ATTEMPTS_EXCEEDED'
  | 'ITEM_NOT_GRANTED'
  | 'VERIFY_ONLY'
  | 'CONSENT_MISSING';

export interface Refusal {
  readonly code: RefusalCode;
  readonly message: string;
  /** The rule that refused, for the audit trail and `extensions.reason`. */
  readonly denial?: DenialReason;
  /** The grant (id and version) that decided the refusal, when one did. */
  readonly grant?: GrantRef;
}

/**
 * system: a department system consuming shared data; officer: a department's data officer (数据专员);
 * admin: the platform operator (政务服务数据管理局); auditor: reviews the trail; portal: the citizen
 * service portal (一网通办), which records consents.
 */
export type PrincipalKind = 'system' | 'officer' | 'admin' | 'auditor' | 'portal';
export const PRINCIPAL_KINDS: readonly PrincipalKind[] = ['system', 'officer', 'admin', 'auditor', 'portal'];

/** Who is calling, as authentication established it. */
export interface Principal {
  readonly kind: PrincipalKind;
  /** System code, or officer / auditor / admin account id. */
  readonly id: string;
  readonly department: string;
}

/** The purpose statement every consumer request carries: no purpose, no data. */
export interface PurposeStatement {
  readonly purpose: string | null | undefined;
  readonly caseId: string | null | undefined;
  readonly operator: string | null | undefined;
}

export interface ItemPermit {
  readonly item: string;
  readonly access: ItemAccess;
  /** The mask to apply when access is `masked`. */
  readonly mask: MaskKind;
  /** Served only under a consent in force for the subject, department, purpose and item. */
  readonly consent: boolean;
}

export interface ItemRefusal {
  readonly item: string;
  readonly refusal: Refusal;
}

export interface GrantRef {
  readonly id: string;
  readonly version: number;
}

/** What may be done with one resource's items under one purpose. */
export type ResourceDecision =
  | {
      readonly allowed: true;
      readonly resource: string;
      /** Items served (clear or masked). */
      readonly permits: readonly ItemPermit[];
      /** Items asked for but not served, each with its reason. */
      readonly refusals: readonly ItemRefusal[];
      readonly grants: readonly GrantRef[];
    }
  | { readonly allowed: false; readonly resource: string; readonly refusal: Refusal; readonly grants: readonly GrantRef[] };

export type { Grant, Purpose };
