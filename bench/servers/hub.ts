/**
 * (c) The hub, everything on: `startHub` with the demo catalogue (connectors counted), token
 * authentication, purpose check, CASL policies, masking, record validation and awaited audit
 * writes, with the hub's default limits and audit settings (group commit, majority write concern).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../gateway/config.ts';
import { documentHash } from '../../gateway/limits/trustedDocuments.ts';
import { startHub } from '../../gateway/hub.ts';
import { createLogger } from '../../gateway/logger.ts';
import type { Catalogue } from '../../schema/index.ts';
import { ROOT } from '../config.ts';
import { OPERATIONS } from '../scenarios.ts';
import type { AuditStats, ServerSpec } from './protocol.ts';

export interface BenchHub {
  readonly url: string;
  /** Access records acknowledged durable so far; evidence inserts that landed and their time summed. */
  audit(): Promise<AuditStats>;
  close(): Promise<void>;
}

/**
 * `discardAudit` (diagnostic only): records are still built (subject hash included) but `append`
 * resolves at once and nothing is written, to separate the audit write's cost from the checks'.
 */
/**
 * The demo grants' daily quotas (5 000 a day) and the verification limit (5 attempts per subject a
 * day) would run out within seconds of load and turn the measured responses into refusals. The
 * bench keeps every check, counters included, and raises the limits out of reach.
 */
export function withLoadQuotas(catalogue: Catalogue): Catalogue {
  return {
    ...catalogue,
    grants: catalogue.grants.map((g) => ({
      ...g,
      quota: { ...g.quota, ...(g.quota?.perDay !== undefined ? { perDay: 1_000_000_000 } : {}), verifyPerDay: 1_000_000 },
    })),
  };
}

/** What-if `trustedDocuments: enforce`: the scenarios' operations, registered for every system of the catalogue. */
async function trustedDocumentsFile(catalogue: Catalogue): Promise<{ file: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-trusted-'));
  const documents = Object.fromEntries([...OPERATIONS.values()].map((o) => [documentHash(o.query), o.query]));
  const systems = Object.fromEntries(catalogue.systems.map((s) => [s.code, Object.keys(documents)]));
  const file = join(dir, 'trusted.json');
  await writeFile(file, JSON.stringify({ documents, systems }));
  return { file, remove: () => rm(dir, { recursive: true, force: true }) };
}

export async function startBenchHub(spec: ServerSpec, catalogueDir: string, catalogue: Catalogue, env: NodeJS.ProcessEnv, discardAudit = false): Promise<BenchHub> {
  const trusted = spec.trustedDocuments ? await trustedDocumentsFile(catalogue) : undefined;
  const config = parseConfig(
    {
      mongodb: { uri: spec.mongoUri, database: spec.database, timeoutMs: 10_000 },
      catalogue: catalogueDir,
      server: { host: '127.0.0.1', port: spec.port, graphiql: false },
      log: { level: 'error' },
      ...(spec.audit ? { audit: spec.audit } : {}),
      ...(trusted ? { trustedDocuments: { mode: 'enforce', file: trusted.file } } : {}),
    },
    'bench hub config',
    ROOT,
    {},
  );
  const hub = await startHub({
    config,
    logger: createLogger(config.log.level),
    subjectKey: Buffer.from(spec.subjectKeyHex, 'hex'),
    catalogue: withLoadQuotas(catalogue),
    env,
  });
  if (discardAudit) {
    hub.runtime.audit.append = () => Promise.resolve();
    hub.runtime.audit.appendMany = () => Promise.resolve();
  }
  const audit = async (): Promise<AuditStats> => {
    // The writes and their time are the hub's own commit-duration histogram (count and sum, seconds).
    const { values } = await hub.runtime.metrics.auditCommitDuration.get();
    const of = (suffix: string) => values.find((v) => v.metricName === `hub_audit_commit_duration_seconds_${suffix}`)?.value ?? 0;
    return { written: hub.runtime.audit.written, writes: of('count'), writeMillis: of('sum') * 1000 };
  };
  return { url: hub.url, audit, close: async () => { await hub.close(); await trusted?.remove(); } };
}
