/**
 * Per-request context: who calls, the request id, and the request's DataLoaders.
 */
import type { Context as TraceContext } from '@opentelemetry/api';
import type DataLoader from 'dataloader';
import type { UpstreamRecord } from '../connectors/index.ts';
import type { FieldNode } from 'graphql';
import type { CompiledPolicy, GrantRef, ItemPermit, Principal, ResourceDecision } from '../policies/index.ts';
import type { Consent, Purpose, SubjectType } from '../schema/index.ts';
import type { CredentialKind } from './identity/request-identity.ts';
import type { HubRuntime } from './runtime.ts';

export interface HubContext {
  readonly runtime: HubRuntime;
  readonly principal: Principal;
  /** How the principal proved who it is (recorded with each access when not a hub token). */
  readonly credential: CredentialKind;
  readonly requestId: string;
  /** One DataLoader per resource and item set, for this request only (never shared across requests). */
  readonly loaders: Map<string, DataLoader<string, UpstreamRecord | null>>;
  /** Subject key → keyed hash, computed once per request (a batch reads each subject many times). */
  readonly subjectHashes: Map<string, string>;
  /**
   * Daily-quota reservations per resource and day: subject key → the grant charged, or null when
   * every quota is spent. Subjects of one execution step share one reservation (one MongoDB write).
   */
  readonly quotaLoaders: Map<string, DataLoader<string, GrantRef | null>>;
  /** Aborted when the client goes away (the HTTP request is closed): pending department calls are cancelled. */
  readonly signal: AbortSignal;
  /** `Date.now()` by which every department call of this request ends (`limits.upstreamDeadlineMs`). */
  readonly deadline: number;
  /** Set by `access(onBehalfOf:)` of a peer hub: `<department>/<system>` of the other region, recorded with every access. */
  onBehalfOf?: string;
  /** Served values an open correction request disputes: the response's `extensions.quality.disputed`. */
  readonly disputed: DisputedItem[];
  /** The request's trace context (its `hub.request` span): parent of the policy, connector and audit spans. */
  readonly trace?: TraceContext;
}

/** A served value that an open correction request (数据纠错) disputes. */
export interface DisputedItem {
  /** Where the value is in the response (aliases as the query named them). */
  readonly path: ReadonlyArray<string | number>;
  readonly resource: string;
  readonly item: string;
  /** The correction request's id. */
  readonly correction: string;
}

/** What `access(...)` resolves to: a validated purpose statement and the policy compiled for it. */
export interface AccessScope {
  readonly purpose: Purpose;
  readonly caseId: string;
  readonly operator: string;
  readonly policy: CompiledPolicy;
  readonly today: string;
  /**
   * What a resource field's resolver worked out once under this scope, by the field's nodes (every
   * subject of a `persons` list shares them): the decision and what follows from it alone.
   */
  readonly plans: WeakMap<readonly FieldNode[], ReadPlan>;
  /** The consent reference the request presented (for consent-bound items), if any. */
  readonly consentRef: string | null;
  /** The presented consent, looked up once per request. */
  consent(): Promise<Consent | null>;
}

/** A resource field's decision under a scope, and what follows from it alone (gateway/consumer/records.ts). */
export interface ReadPlan {
  readonly batchSize: number;
  readonly asked: readonly string[];
  readonly decision: ResourceDecision;
  /** The decision's grants with the one last charged for a daily quota first. */
  charged?: { readonly grant: GrantRef; readonly grants: readonly GrantRef[] };
  /**
   * When no permitted item is consent-bound (so no consent look-up is due): the permits, the
   * policy's refusals of items as errors, the permitted items and (once a subject asked) the
   * request's loader of them.
   */
  readonly plain?: {
    readonly permits: readonly ItemPermit[];
    readonly refusals: ReadonlyMap<string, Error>;
    readonly refused: readonly string[];
    readonly items: readonly string[];
    loader?: DataLoader<string, UpstreamRecord | null>;
  };
}

/** A subject asked for under an access scope. */
export interface SubjectRef {
  readonly scope: AccessScope;
  readonly type: SubjectType;
  readonly key: string;
  /** How many subjects the enclosing call asked for (1 for `person`). */
  readonly batchSize: number;
}

/** A resource's record as served: values after obligations, and per-item refusals. */
export interface ServedRecord {
  readonly values: Readonly<Record<string, unknown>>;
  readonly refusals: ReadonlyMap<string, Error>;
}

