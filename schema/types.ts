/**
 * The catalogue (政务数据资源目录) as the hub holds it after validation.
 * These shapes mirror the JSON Schemas in `catalogue-schemas.ts`.
 */

export type SubjectType = 'person' | 'enterprise';
/** 无条件共享 / 有条件共享 / 不予共享 */
export type SharingType = 'unconditional' | 'conditional' | 'none';
/** Per-item classification (PIPL, GB/T 43697-2024). `biometric` is sensitive personal data that needs separate consent. */
export type Classification = 'public' | 'personal' | 'sensitive' | 'biometric' | 'trade-secret';
export type ItemType = 'string' | 'integer' | 'number' | 'boolean' | 'date';
/** Display de-identification forms (GB/T 35273 §7.2). */
export type MaskKind = 'none' | 'name' | 'idNumber' | 'mobile' | 'address' | 'creditCode' | 'full';
/** 核心 / 重要 / 一般 */
export type DataLevel = 'core' | 'important' | 'general';

export interface Department {
  readonly code: string;
  readonly name: string;
  readonly region?: string;
}

export interface SystemEntry {
  readonly code: string;
  readonly name: string;
  readonly department: string;
  /** Another region's hub: it asks for departments of its own region and names them (`onBehalfOf`). */
  readonly peerHub?: boolean;
  /**
   * SHA-256 fingerprints of the client certificates bound to this system (mutual TLS). A system with
   * any is accepted only with one of them: a token alone no longer identifies it.
   */
  readonly certificates?: readonly string[];
}

/** A 政务服务事项: the purpose a consumer states on every request. */
export interface Purpose {
  readonly code: string;
  readonly name: string;
  readonly legalBasis: string;
  /** Departments that handle this service item and may therefore request data for it. */
  readonly departments: readonly string[];
  /** When present, the only resources this purpose may read (minimum necessary). */
  readonly resources?: readonly string[];
  readonly validUntil?: string;
  /**
   * Accesses under this purpose stay hidden from the data subject for this many days (e.g. an open
   * investigation), unless an auditor discloses them earlier.
   */
  readonly confidentialDays?: number;
  /** Purposes sharing a theme (e.g. 出生一件事) are related: the MANY_PURPOSES anomaly counts themes. */
  readonly theme?: string;
}

export interface Item {
  readonly name: string;
  readonly title: string;
  readonly type: ItemType;
  readonly classification: Classification;
  /** How the item is shown when served masked; `none` means it is shown clear. */
  readonly mask: MaskKind;
  readonly description?: string;
}

export interface Binding {
  /** Name of a connector declared in the catalogue's connectors file. */
  readonly connector: string;
  /** REST path segment, MongoDB collection, file name … */
  readonly dataset: string;
  /** Field of the upstream record holding the subject key. */
  readonly keyField: string;
}

export interface Resource {
  readonly code: string;
  readonly name: string;
  /** GraphQL field name under Person / Enterprise. */
  readonly field: string;
  readonly provider: string;
  readonly summary: string;
  readonly subject: SubjectType;
  readonly level: DataLevel;
  /** Weight of one read of this resource in the estimated query cost (`@cost`); default 1. */
  readonly cost?: number;
  readonly items: readonly Item[];
  readonly sharing: SharingType;
  readonly conditions?: string;
  readonly legalBasis?: string;
  readonly updateFrequency?: string;
  readonly publishedAt?: string;
  readonly related?: readonly string[];
  readonly binding: Binding;
}

export type ItemAccess = 'clear' | 'masked' | 'verify';

export interface GrantItem {
  readonly name: string;
  readonly access: ItemAccess;
  /** Served only under a consent in force for the subject (biometric items always need one). */
  readonly consent?: boolean;
}

export type GrantStatus = 'pending' | 'approved' | 'rejected' | 'suspended' | 'revoked' | 'expired';

/** Who did what to a managed object, when and why (every step of an application, grant or demand). */
export interface HistoryEntry {
  readonly at: Date;
  /** Principal id of the actor (`cli:<user>` or `config` for changes outside the API). */
  readonly actor: string;
  readonly role: string;
  readonly department: string | null;
  /** e.g. `apply`, `approve`, `reject`, `escalate`, `uphold`, `direct`, `suspend`, `resume`, `revoke`. */
  readonly action: string;
  readonly reason: string | null;
  /** The object's version after the step. */
  readonly version: number;
}

/** An approved sharing application (共享申请) of a consumer department for one conditional resource. */
export interface Grant {
  readonly id: string;
  readonly version: number;
  readonly resource: string;
  readonly consumer: string;
  /** Systems of the consumer department allowed to use it; empty or absent = all its systems. */
  readonly systems?: readonly string[];
  readonly purposes: readonly string[];
  readonly items: readonly GrantItem[];
  readonly validFrom: string;
  readonly validUntil: string;
  readonly quota?: GrantQuota;
  readonly status: GrantStatus;
  readonly approvedBy?: string;
  readonly reason?: string;
  /** Provider department (the resource's provider); filled in when the grant is stored. */
  readonly provider?: string;
  /** The sharing application this grant answers, when it came through the hub. */
  readonly application?: string;
  readonly history?: readonly HistoryEntry[];
}

export interface GrantQuota {
  /** Subjects served per day (the deployment's time zone), across every hub instance. */
  readonly perDay?: number;
  /** Most subjects in one request. */
  readonly maxBatch?: number;
  /** Verification attempts per (system, subject, resource) per day; default 5. */
  readonly verifyPerDay?: number;
}

/** 共享申请: pending → approved | rejected (→ escalated → approved | rejected) | withdrawn. */
export type ApplicationStatus = 'pending' | 'approved' | 'rejected' | 'escalated' | 'withdrawn';

export interface Application {
  readonly id: string;
  readonly version: number;
  readonly resource: string;
  readonly provider: string;
  readonly consumer: string;
  readonly items: readonly GrantItem[];
  readonly purposes: readonly string[];
  readonly systems: readonly string[];
  readonly validFrom: string;
  readonly validUntil: string;
  readonly expectedDailyVolume: number;
  readonly maxBatch: number;
  readonly reason: string;
  readonly status: ApplicationStatus;
  readonly submittedAt: Date;
  readonly submittedBy: string;
  /** Last working day on which the provider must answer (YYYY-MM-DD). */
  readonly deadline: string;
  /** The grant made from it (approval or a directed grant). */
  readonly grant?: string;
  /** Set once the provider answered, or the coordinator settled it. */
  readonly decidedAt?: Date;
  readonly escalation?: {
    readonly reason: string;
    readonly at: Date;
    readonly by: string;
    readonly resolution?: 'upheld' | 'directed';
    readonly resolvedAt?: Date;
    readonly resolvedBy?: string;
    readonly resolutionReason?: string;
  };
  readonly history: readonly HistoryEntry[];
}

/** 需求清单: demand for data no catalogued resource offers. */
export type DemandStatus = 'open' | 'assigned' | 'answered';

export interface Demand {
  readonly id: string;
  readonly version: number;
  readonly consumer: string;
  readonly title: string;
  readonly description: string;
  readonly purposes: readonly string[];
  readonly status: DemandStatus;
  readonly provider?: string;
  readonly answer?: string;
  /** A resource the provider catalogued (or pointed to) to meet it. */
  readonly resource?: string;
  readonly createdAt: Date;
  readonly history: readonly HistoryEntry[];
}

/** 数据纠错: open until the provider answers; corrected or rejected (with a reason) are final. */
export type CorrectionStatus = 'open' | 'corrected' | 'rejected';

/**
 * A correction request (数据纠错 / 异议): someone who was served an item of a subject's record, or the
 * provider itself, states that the value is wrong; the provider's data officer answers it by a
 * deadline in working days. The subject is stored only as the keyed hash the audit trail uses.
 */
export interface CorrectionRequest {
  readonly id: string;
  readonly version: number;
  readonly resource: string;
  /** The resource's provider department: its data officers answer. */
  readonly provider: string;
  /** The requesting department (the provider itself for a known error it flagged). */
  readonly consumer: string;
  /** Principal id of the requester: a system code or an officer's account id. */
  readonly requester: string;
  readonly requesterRole: 'system' | 'officer';
  readonly subjectType: SubjectType;
  /** Keyed hash of the subject key (as in access records), never the key itself. */
  readonly subject: string;
  readonly item: string;
  /** What is wrong, as the requester states it. */
  readonly note: string;
  /** The operator (经办人) who found the error, and the case, when the requester names them. */
  readonly operator: string | null;
  readonly caseId: string | null;
  /** The access record (`<log>#<seq>`) that served the disputed value; null for the provider's own flag. */
  readonly servedRecord: string | null;
  /** `<resource>|<subject>|<item>` while open (unique: one open request per value), `closed/<id>` after. */
  readonly openKey: string;
  readonly status: CorrectionStatus;
  readonly submittedAt: Date;
  /** Last working day for the provider's answer (YYYY-MM-DD). */
  readonly deadline: string;
  /** The provider's answer: what was corrected, or why the value stands. */
  readonly answer?: string | null;
  readonly answeredAt?: Date;
  readonly answeredBy?: string;
  readonly history: readonly HistoryEntry[];
}

/** A data subject's separate consent (单独同意), recorded by the citizen portal. */
export interface Consent {
  readonly id: string;
  /** Keyed hash of the subject's ID number, never the number itself. */
  readonly subject: string;
  readonly consumer: string;
  readonly purpose: string;
  /** `RESOURCE.item` names the consent covers. */
  readonly items: readonly string[];
  readonly validUntil: string;
  readonly recordedAt: Date;
  readonly recordedBy: string;
  readonly withdrawnAt: Date | null;
  readonly withdrawnReason: string | null;
}

export interface ConnectorEntry {
  readonly name: string;
  readonly config: Record<string, unknown> & { readonly kind: string };
}

export interface Catalogue {
  readonly departments: readonly Department[];
  readonly systems: readonly SystemEntry[];
  readonly purposes: readonly Purpose[];
  readonly resources: readonly Resource[];
  readonly grants: readonly Grant[];
  readonly connectors: readonly ConnectorEntry[];
}
