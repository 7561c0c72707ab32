/**
 * `hub token create --config <file> --system <code>`: issue a bearer token for a registered system.
 * The token is printed once; only its hash is stored.
 */
import { MongoClient } from 'mongodb';
import { ValidationError } from '../../schema/index.ts';
import { loadConfig } from '../config.ts';
import { ensureCredentialIndexes, issueToken } from '../credentials.ts';
import { loadHubCatalogue } from '../runtime.ts';

export async function createSystemToken(configPath: string, system: string, label: string | undefined): Promise<string> {
  const config = await loadConfig(configPath);
  const catalogue = await loadHubCatalogue(config.catalogue);
  const entry = catalogue.systems.find((s) => s.code === system);
  if (!entry) {
    const known = catalogue.systems.map((s) => s.code).join(', ');
    throw new ValidationError([{ where: '--system', path: '', rule: 'reference', message: `"${system}" is not a registered system (known: ${known})` }]);
  }
  const client = new MongoClient(config.mongodb.uri, { serverSelectionTimeoutMS: 10_000 });
  try {
    await client.connect();
    const db = client.db(config.mongodb.database);
    await ensureCredentialIndexes(db);
    return await issueToken(db, { kind: 'system', id: entry.code, department: entry.department }, label ?? entry.name);
  } finally {
    await client.close();
  }
}
