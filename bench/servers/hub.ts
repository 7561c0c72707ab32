/**
 * (c) The hub, everything on: `startHub` with the demo catalogue (connectors counted), token
 * authentication, purpose check, CASL policies, masking, record validation and awaited audit
 * writes, with the hub's default limits and audit settings (group commit, majority write concern).
 */
import { parseConfig } from '../../gateway/config.ts';
import { startHub } from '../../gateway/hub.ts';
import { createLogger } from '../../gateway/logger.ts';
import type { Catalogue } from '../../schema/index.ts';
import { ROOT } from '../config.ts';
import type { ServerSpec } from './protocol.ts';

export interface BenchHub {
  readonly url: string;
  /** Access records acknowledged durable so far. */
  written(): number;
  close(): Promise<void>;
}

/**
 * `discardAudit` (diagnostic only): records are still built (subject hash included) but `append`
 * resolves at once and nothing is written, to separate the audit write's cost from the checks'.
 */
export async function startBenchHub(spec: ServerSpec, catalogueDir: string, catalogue: Catalogue, env: NodeJS.ProcessEnv, discardAudit = false): Promise<BenchHub> {
  const config = parseConfig(
    {
      mongodb: { uri: spec.mongoUri, database: spec.database, timeoutMs: 10_000 },
      catalogue: catalogueDir,
      server: { host: '127.0.0.1', port: spec.port, graphiql: false },
      log: { level: 'error' },
      ...(spec.audit ? { audit: spec.audit } : {}),
    },
    'bench hub config',
    ROOT,
    {},
  );
  const hub = await startHub({
    config,
    logger: createLogger(config.log.level),
    subjectKey: Buffer.from(spec.subjectKeyHex, 'hex'),
    catalogue,
    env,
  });
  if (discardAudit) {
    hub.runtime.audit.append = () => Promise.resolve();
    hub.runtime.audit.appendMany = () => Promise.resolve();
  }
  return { url: hub.url, written: () => hub.runtime.audit.written, close: () => hub.close() };
}
