/**
 * Builds FerretDB v1.24.2 into `<project root>/.cache` ahead of time (once; later runs find it
 * cached), so the test run does not start with a multi-minute build. Used by `.ci/run`:
 *
 *     node gateway/mongo/prebuild.ts
 *
 * Exits 1 with what to install when FerretDB cannot be built and no mongod is on PATH either.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { findExecutable } from './executables.ts';
import { ensureFerretDB, ProvisionError } from './provision.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const started = Date.now();

try {
  const binary = await ensureFerretDB(join(root, '.cache'), (message) => console.log(message));
  console.log(`FerretDB ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${binary}`);
} catch (error) {
  if (!(error instanceof ProvisionError)) throw error;
  const mongod = await findExecutable('mongod', process.env);
  if (mongod !== undefined) {
    console.log(`FerretDB not built (${error.message.split('\n')[0]}); tests will use ${mongod}.`);
  } else {
    console.error(error.message);
    process.exitCode = 1;
  }
}
