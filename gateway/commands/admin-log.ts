/**
 * `hub` commands that change the hub write their administrative records into the administrative
 * log (audit/admin.ts) like a hub does; with the signing key configured, the command signs the
 * log's checkpoint itself before it ends, so its change is under a signed checkpoint at once.
 * Without the key, the next checkpoint of a running hub covers it.
 */
import type { Db } from 'mongodb';
import { checkpointAdmin, noteSigner } from '../../audit/index.ts';
import { readSigningKey, type HubConfig } from '../config.ts';
import { withHubDb } from '../mongo/client.ts';

/**
 * Runs `work`, then signs the administrative log's checkpoint when the key is configured. `sign`
 * signs it earlier (an export that should hold its own record under a checkpoint).
 */
export async function withAdminChange<T>(config: HubConfig, work: (db: Db, sign: () => Promise<void>) => Promise<T>): Promise<T> {
  const key = await readSigningKey(config).catch((error: unknown) => {
    // No key in the environment is the usual case for a command; a key file that cannot be read is
    // a mistake to say (the change is still made and recorded).
    if (config.audit.signingKey.file) process.stderr.write(`hub: ${(error as Error).message}; the change's checkpoint is left to a running hub\n`);
    return undefined;
  });
  return withHubDb(config, async (db) => {
    const sign = async () => {
      if (key === undefined) return;
      try {
        await checkpointAdmin(db, noteSigner(config.audit.keyName, key));
      } catch (error) {
        // The change and its record are durable; only their checkpoint waits for a hub's.
        process.stderr.write(`hub: the change is recorded, but its checkpoint could not be signed (${(error as Error).message}); a running hub signs it\n`);
      }
    };
    const result = await work(db, sign);
    await sign();
    return result;
  });
}
