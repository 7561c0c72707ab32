/**
 * The shape of bench/results/latest.json.
 */
import type { BenchConfig } from '../config.ts';
import type { RunRecord, ServerSummary } from '../measure.ts';
import type { AuditMicroResult } from '../micro/audit.ts';
import type { PolicyMicroResult } from '../micro/policy.ts';
import type { EncodingMicroResult } from '../micro/encoding.ts';
import type { ProfileReport } from '../profiling.ts';
import type { PeerKind } from '../peer.ts';
import type { PeerRunRecord } from '../rounds.ts';
import type { ScalingResult } from '../scaling.ts';
import type { ScenarioId } from '../scenarios.ts';
import type { ServerKind } from '../servers/protocol.ts';
import type { Machine } from './machine.ts';
import type { Revision } from './revision.ts';

export type MainKind = 'ceiling' | 'plain' | 'hub';

export interface ServerFigures extends ServerSummary {
  /** Connector calls per query, counted one request at a time before the load. */
  readonly upstreamPerQuery: number;
  readonly restCallsPerQuery: number;
  readonly callsByDataset: Readonly<Record<string, number>>;
  readonly auditPerQuery: number | null;
  readonly auditDocsPerQuery: number | null;
}

export interface ScenarioFigures {
  readonly id: ScenarioId;
  readonly title: string;
  /** Distinct resources read: what upstream calls per query should be. */
  readonly distinctResources: number;
  readonly servers: Readonly<Record<MainKind, ServerFigures>> & { readonly 'hub-noaudit'?: ServerFigures };
  /** Peers measured on this scenario ((d) Hive Gateway on `one`); absent where none answers it. */
  readonly peers?: Readonly<Partial<Record<PeerKind, ServerFigures>>>;
  readonly ratios: {
    readonly cOverB: number;
    readonly cOverA: number;
    /** (c′)/(b): the hub's checks, masking, validation and auth without the audit write. */
    readonly cPrimeOverB: number | null;
    /** (c)/(c′): what awaiting the durable audit write costs. */
    readonly cOverCPrime: number | null;
    readonly cOverBRounds: readonly number[];
    readonly cOverARounds: readonly number[];
    /** (c)/(d): the hub over Hive Gateway (null where (d) was not measured). */
    readonly cOverD: number | null;
    readonly cOverDRounds: readonly number[];
  };
  /** null when equal, else the first difference found. */
  readonly sameData: {
    readonly ceilingVsPlain: string | null;
    readonly hubVsPlainMasked: string | null;
    readonly noauditVsHub: string | null;
    /** (d)'s answers mapped to (b)'s shape vs (b)'s (absent where (d) was not measured). */
    readonly peerVsPlain?: string | null;
  };
}

/** A peer of the run: measured, or why not. */
export interface PeerStatus {
  readonly kind: PeerKind;
  readonly label: string;
  readonly status: 'measured' | 'unavailable' | 'skipped';
  /** Why it is unavailable or skipped. */
  readonly reason?: string;
  /** Exact versions of bench/peers' direct dependencies (and overrides). */
  readonly versions: Readonly<Record<string, string>>;
  readonly scenarios: readonly ScenarioId[];
  /** Composition of the supergraph at start, ms. */
  readonly composeMs?: number;
  /** The operation (d) answers for each scenario. */
  readonly operations?: Readonly<Partial<Record<ScenarioId, string>>>;
}

export interface Goal {
  readonly name: string;
  readonly target: string;
  readonly figure: string;
  readonly met: boolean;
}

export interface BenchResults {
  readonly generatedAt: string;
  readonly durationSeconds: number;
  readonly machine: Machine;
  /** The code measured, read when the servers started. */
  readonly revision: Revision;
  readonly config: Omit<BenchConfig, 'out'>;
  readonly scenarios: readonly ScenarioFigures[];
  /** Peak RSS over each server process's life (getrusage maxrss), MB. */
  readonly processPeakRssMB: Readonly<Partial<Record<ServerKind | PeerKind, number>>>;
  readonly peers: readonly PeerStatus[];
  /** `auditError`: why the audit writer micro-benchmark has no figures (it failed). */
  readonly micro: { readonly audit: readonly AuditMicroResult[]; readonly policy: readonly PolicyMicroResult[]; readonly encoding?: readonly EncodingMicroResult[]; readonly auditError?: string };
  readonly scaling: ScalingResult | null;
  readonly profiles: readonly ProfileReport[];
  readonly goals: readonly Goal[];
  readonly runs: readonly RunRecord[];
  readonly peerRuns: readonly PeerRunRecord[];
}
