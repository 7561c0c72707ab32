import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { TestProject } from 'vitest/node';

import { provisionMongo } from '../../gateway/mongo/provision.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The MongoDB-wire server shared by the whole test run (see tests/support/mongo.ts). */
    mongoUri: string;
  }
}

/** The project root: `.cache` there holds the FerretDB build shared by test runs and the demo. */
const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * vitest globalSetup: provisions ONE MongoDB-wire server for the whole run (MONGODB_URI if set,
 * else mongod from PATH, else FerretDB built once into `<root>/.cache`) and provides its URI as
 * `mongoUri`. Teardown stops it and removes its temporary data directory.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dataDir = await mkdtemp(join(tmpdir(), 'yiwang-hub-test-mongo-'));
  const provision = await provisionMongo({
    dataDir,
    cacheDir: join(projectRoot, '.cache'),
    log: (message) => console.log(`[mongo] ${message}`),
  }).catch(async (error: unknown) => {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  });
  project.provide('mongoUri', provision.uri);

  return async () => {
    try {
      await provision.stop();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  };
}
