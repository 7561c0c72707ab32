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

export interface Refusal {
  readonly code: RefusalCode;
  readonly message: string;
}

export type PrincipalKind = 'system' | 'officer' | 'auditor' | 'admin';

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
