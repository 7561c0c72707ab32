/**
 * Access evidence (访问留痕): one record per subject × resource read, allowed or denied, and one per
 * refused access statement. Kept apart from admin changes and operational metrics (X-Road style).
 */
import { createHmac } from 'node:crypto';

export type Decision = 'allow' | 'partial' | 'deny';

export interface GrantVersion {
  readonly id: string;
  readonly version: number;
}

export interface AccessRecord {
  readonly at: Date;
  readonly requestId: string;
  /** `read` of a resource, `verify` of claims, or `access` for a refused purpose statement. */
  readonly action: 'read' | 'verify' | 'access';
  readonly system: string;
  readonly department: string;
  readonly principalKind: string;
  readonly operator: string | null;
  readonly purpose: string | null;
  readonly caseId: string | null;
  readonly resource: string | null;
  readonly provider: string | null;
  readonly subjectType: 'person' | 'enterprise' | null;
  /** Keyed hash of the subject key (HMAC-SHA-256 with the hub's subject key), never the raw ID. */
  readonly subject: string | null;
  readonly itemsReturned: readonly string[];
  readonly itemsMasked: readonly string[];
  readonly itemsRefused: readonly string[];
  /** Items compared by a verification (核验); their values are never returned. */
  readonly itemsVerified: readonly string[];
  readonly grants: readonly GrantVersion[];
  readonly decision: Decision;
  /** Refusal or failure code (FORBIDDEN, UPSTREAM_UNAVAILABLE …) when not fully allowed. */
  readonly code: string | null;
  readonly reason: string | null;
}

/** Keyed subject hash. Data subjects and auditors find records by computing the same hash. */
export function subjectHash(key: Buffer, subjectKey: string): string {
  return createHmac('sha256', key).update(subjectKey, 'utf8').digest('base64url');
}
