/**
 * `hub token create | list | revoke`: bearer tokens of principals (systems, officers, admins,
 * auditors, the portal). A token is printed once; only its hash is stored. Every issue and
 * revocation is recorded in `audit_admin`.
 */
import { userInfo } from 'node:os';
import { MongoClient, type Db } from 'mongodb';
import type { PrincipalKind } from '../../policies/index.ts';
import { ValidationError } from '../../schema/index.ts';
import { loadConfig, type HubConfig } from '../config.ts';
import { issuePrincipalToken, listCredentials, principalViolations, revokePrincipalTokens, type CredentialInfo, type RevocationTarget } from '../credentials.ts';
import { loadHubCatalogue } from '../runtime.ts';

const actor = () => ({ id: `cli:${userInfo().username}`, role: 'cli', department: null });

async function withHubDb<T>(config: HubConfig, work: (db: Db) => Promise<T>): Promise<T> {
  const client = new MongoClient(config.mongodb.uri, { serverSelectionTimeoutMS: config.mongodb.timeoutMs });
  try {
    await client.connect();
    return await work(client.db(config.mongodb.database));
  } finally {
    await client.close();
  }
}

/** `hub token create`: a token for a principal of one role, printed once. */
export async function createPrincipalToken(configPath: string, spec: { kind: PrincipalKind; id: string; department: string; label: string | undefined }): Promise<string> {
  const config = await loadConfig(configPath);
  const catalogue = await loadHubCatalogue(config.catalogue);
  // Check against the catalogue before connecting, so a typo never waits for MongoDB.
  const violations = principalViolations(spec, catalogue);
  if (violations.length > 0) throw new ValidationError(violations);
  const system = spec.kind === 'system' ? catalogue.systems.find((s) => s.code === spec.id) : undefined;
  const label = spec.label || system?.name || `${spec.kind} ${spec.id}`;
  return withHubDb(config, async (db) => (await issuePrincipalToken(db, { ...spec, label, actor: actor() }, catalogue)).token);
}

/** `hub token list`: every credential, or those of one principal and/or one role. */
export async function listTokens(configPath: string, filter: { principalId?: string | undefined; role?: PrincipalKind | undefined }): Promise<CredentialInfo[]> {
  return withHubDb(await loadConfig(configPath), (db) => listCredentials(db, filter.principalId, filter.role));
}

/** `hub token revoke`: one credential by id, or every active token of a system (`--system`). */
export async function revokeTokens(configPath: string, target: RevocationTarget, reason: string | undefined): Promise<string[]> {
  if ('id' in target && !/^[0-9a-f]{6,64}$/.test(target.id)) {
    throw new ValidationError([{ where: '--id', path: '', rule: 'pattern', message: 'must be a credential id (6+ hex digits, see `hub token list`)' }]);
  }
  return withHubDb(await loadConfig(configPath), (db) => revokePrincipalTokens(db, target, actor(), reason ?? null));
}

/** One line per credential, tab-separated: id, role, principal, department, created, state, label. */
export function formatCredentials(list: readonly CredentialInfo[]): string[] {
  if (list.length === 0) return ['no tokens'];
  return list.map((c) => [c.id, c.kind, c.principalId, c.department, c.createdAt.toISOString(), c.revokedAt ? `revoked ${c.revokedAt.toISOString()}` : 'active', c.label].join('\t'));
}
