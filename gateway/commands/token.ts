/**
 * `hub token create | list | revoke`: bearer tokens of registered systems. A token is printed
 * once; only its hash is stored. Every issue and revocation is recorded in `audit_admin`.
 */
import { userInfo } from 'node:os';
import { MongoClient, type Db } from 'mongodb';
import { appendAdmin } from '../../audit/index.ts';
import { ValidationError } from '../../schema/index.ts';
import { loadConfig, type HubConfig } from '../config.ts';
import { credentialId, ensureCredentialIndexes, hashToken, issueToken, listCredentials, revokeCredentials, type CredentialInfo } from '../credentials.ts';
import { loadHubCatalogue } from '../runtime.ts';

const actor = () => `cli:${userInfo().username}`;

async function withHubDb<T>(config: HubConfig, work: (db: Db) => Promise<T>): Promise<T> {
  const client = new MongoClient(config.mongodb.uri, { serverSelectionTimeoutMS: config.mongodb.timeoutMs });
  try {
    await client.connect();
    return await work(client.db(config.mongodb.database));
  } finally {
    await client.close();
  }
}

export async function createSystemToken(configPath: string, system: string, label: string | undefined): Promise<string> {
  const config = await loadConfig(configPath);
  const catalogue = await loadHubCatalogue(config.catalogue);
  const entry = catalogue.systems.find((s) => s.code === system);
  if (!entry) {
    const known = catalogue.systems.map((s) => s.code).join(', ');
    throw new ValidationError([{ where: '--system', path: '', rule: 'reference', message: `"${system}" is not a registered system (known: ${known})` }]);
  }
  return withHubDb(config, async (db) => {
    await ensureCredentialIndexes(db);
    const token = await issueToken(db, { kind: 'system', id: entry.code, department: entry.department }, label ?? entry.name);
    await appendAdmin(db, { actor: actor(), action: 'token.create', target: entry.code, detail: { credential: credentialId(hashToken(token)), department: entry.department } });
    return token;
  });
}

export async function listTokens(configPath: string, system: string | undefined): Promise<CredentialInfo[]> {
  return withHubDb(await loadConfig(configPath), (db) => listCredentials(db, system));
}

export async function revokeTokens(configPath: string, target: { id: string } | { principalId: string }, reason: string | undefined): Promise<string[]> {
  if ('id' in target && !/^[0-9a-f]{6,64}$/.test(target.id)) {
    throw new ValidationError([{ where: '--id', path: '', rule: 'pattern', message: 'must be a credential id (6+ hex digits, see `hub token list`)' }]);
  }
  return withHubDb(await loadConfig(configPath), async (db) => {
    const revoked = await revokeCredentials(db, target);
    for (const id of revoked) await appendAdmin(db, { actor: actor(), action: 'token.revoke', target: id, detail: { reason: reason ?? null } });
    return revoked;
  });
}

export function formatCredentials(list: readonly CredentialInfo[]): string[] {
  if (list.length === 0) return ['no tokens'];
  return list.map((c) => [c.id, c.kind, c.principalId, c.department, c.createdAt.toISOString(), c.revokedAt ? `revoked ${c.revokedAt.toISOString()}` : 'active', c.label].join('\t'));
}
