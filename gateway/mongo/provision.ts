import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

import { lockDataDir, type DataDirLock } from './data-dir-lock.ts';
import { ProvisionError } from './errors.ts';
import { findExecutable } from './executables.ts';
import { ensureFerretDB, FERRETDB_VERSION, ferretdbArgs, ferretdbEnv } from './ferretdb.ts';
import { errorMessage, ping, redactUri } from './ping.ts';
import { ServerExitedError, startServerProcess } from './server-process.ts';

export { ProvisionError } from './errors.ts';
export { cachedFerretDB, ensureFerretDB, ferretdbBinaryPath, FERRETDB_VERSION } from './ferretdb.ts';
export type { EnsureFerretDBOptions } from './ferretdb.ts';

/** A MongoDB-wire server the hub can use, and how to let go of it. */
export interface MongoProvision {
  readonly uri: string;
  /** `env`: MONGODB_URI as given; `mongod`: started from PATH; `ferretdb`: built and started here. */
  readonly source: 'env' | 'mongod' | 'ferretdb';
  /** Stops the server if this provision started it (no-op for `env`). Idempotent. */
  stop(): Promise<void>;
  /** The server's process id, when this provision started it (tests stall it with SIGSTOP). */
  readonly pid?: number;
}

export interface ProvisionOptions {
  /** Where a started server keeps its data; created if missing. The demo passes a persistent dir. */
  dataDir: string;
  /** Where built tools are cached, e.g. `<project>/.cache`. */
  cacheDir: string;
  /** Loopback port for a started server. Default: a free port chosen by the OS. */
  port?: number;
  log?: (message: string) => void;
  /** Default process.env. Read for MONGODB_URI and PATH (mongod, go). */
  env?: NodeJS.ProcessEnv;
}

const ENV_PING_TIMEOUT_MS = 5_000;
const READY_TIMEOUT_MS = 30_000;
const PORT_ATTEMPTS = 3;

/**
 * Provides a MongoDB-wire server, in this order:
 * 1. `MONGODB_URI`, if set, used as is once it answers a ping;
 * 2. `mongod` from PATH, started on 127.0.0.1 with `dataDir` as its dbpath;
 * 3. FerretDB v1.24.2 (SQLite backend, data in `dataDir`), built with Go once into `cacheDir`.
 * Throws ProvisionError, saying what to install or fix, when none of them works.
 */
export async function provisionMongo(options: ProvisionOptions): Promise<MongoProvision> {
  const env = options.env ?? process.env;
  const { log } = options;

  const envUri = env['MONGODB_URI']?.trim();
  if (envUri !== undefined && envUri !== '') return useEnvUri(envUri, log);

  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  // A server already on a fixed port would answer our readiness ping in place of ours.
  if (options.port !== undefined) await assertPortFree(options.port);

  const mongod = await findExecutable('mongod', env);
  if (mongod !== undefined) {
    return startLocal(options, {
      source: 'mongod',
      name: 'mongod',
      command: mongod,
      args: (port) => ['--dbpath', dataDir, '--bind_ip', '127.0.0.1', '--port', String(port)],
      env,
      logFile: join(dataDir, 'mongod.log'),
    });
  }

  let ferretdb: string;
  try {
    ferretdb = await ensureFerretDB(options.cacheDir, log, { env });
  } catch (error) {
    if (!(error instanceof ProvisionError)) throw error;
    throw new ProvisionError(
      `No MongoDB-wire server for the hub: MONGODB_URI is not set, mongod is not on PATH, and FerretDB ` +
        `is unavailable. ${error.message}`,
      { cause: error },
    );
  }
  return startLocal(options, {
    source: 'ferretdb',
    name: `FerretDB ${FERRETDB_VERSION}`,
    command: ferretdb,
    args: (port) => ferretdbArgs(dataDir, port),
    env: ferretdbEnv(env),
    logFile: join(dataDir, 'ferretdb.log'),
  });
}

async function useEnvUri(uri: string, log: ((message: string) => void) | undefined): Promise<MongoProvision> {
  const shown = redactUri(uri);
  try {
    await ping(uri, ENV_PING_TIMEOUT_MS);
  } catch (error) {
    throw new ProvisionError(
      `MONGODB_URI is set to ${shown}, but no MongoDB server answered a ping there within ` +
        `${ENV_PING_TIMEOUT_MS / 1000} s (${errorMessage(error)}). Start that server or correct MONGODB_URI; ` +
        'or unset MONGODB_URI to let the hub start a local server itself (mongod on PATH, or FerretDB built with Go).',
      { cause: error },
    );
  }
  log?.(`Using the MongoDB server from MONGODB_URI (${shown})`);
  return { uri, source: 'env', stop: () => Promise.resolve() };
}

interface LocalServer {
  readonly source: 'mongod' | 'ferretdb';
  readonly name: string;
  readonly command: string;
  readonly args: (port: number) => string[];
  readonly env: NodeJS.ProcessEnv;
  readonly logFile: string;
}

async function startLocal(options: ProvisionOptions, server: LocalServer): Promise<MongoProvision> {
  const { log } = options;
  // One server per data directory: a server a killed hub left running there is stopped first (data-dir-lock.ts).
  const lock = await lockDataDir(resolve(options.dataDir), server.command, log);
  try {
    return await startLocked(options, server, lock);
  } catch (error) {
    await lock.release();
    throw error;
  }
}

async function startLocked(options: ProvisionOptions, server: LocalServer, lock: DataDirLock): Promise<MongoProvision> {
  const { log } = options;
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freeLoopbackPort());
    const uri = `mongodb://127.0.0.1:${port}/`;
    const started = Date.now();
    try {
      const child = await startServerProcess({
        name: server.name,
        command: server.command,
        args: server.args(port),
        env: server.env,
        logFile: server.logFile,
        uri,
        address: { host: '127.0.0.1', port },
        readyTimeoutMs: READY_TIMEOUT_MS,
        log,
      });
      try {
        await lock.recordServer(child.pid, port);
      } catch (error) {
        await child.stop();
        throw error;
      }
      log?.(
        `Started ${server.name} (pid ${child.pid}) on ${uri} in ${Date.now() - started} ms; ` +
          `data in ${resolve(options.dataDir)}, log in ${server.logFile}`,
      );
      let stopped: Promise<void> | undefined;
      const stop = () => (stopped ??= child.stop().then(() => lock.release()));
      return { uri, source: server.source, stop, pid: child.pid };
    } catch (error) {
      // The OS-chosen port can be taken between our probe and the server's bind: try another one.
      const portTaken = error instanceof ServerExitedError && /address already in use/i.test(error.logTail);
      if (portTaken && options.port === undefined && attempt < PORT_ATTEMPTS) {
        log?.(`Port ${port} was taken before ${server.name} could bind it; trying another`);
        continue;
      }
      throw error;
    }
  }
}

async function assertPortFree(port: number): Promise<void> {
  try {
    await listenAndClose(port);
  } catch (error) {
    const taken = error instanceof Error && (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
    throw new ProvisionError(
      taken
        ? `127.0.0.1:${port} is already in use (another MongoDB or FerretDB?). Stop it, choose another port, ` +
            `or set MONGODB_URI=mongodb://127.0.0.1:${port}/ to use that server.`
        : `Cannot listen on 127.0.0.1:${port}: ${errorMessage(error)}`,
      { cause: error },
    );
  }
}

/** A port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export function freeLoopbackPort(): Promise<number> {
  return listenAndClose(0);
}

function listenAndClose(port: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      const address = probe.address();
      probe.close(() => {
        if (address !== null && typeof address === 'object') resolvePort(address.port);
        else reject(new Error('could not read the probe socket address'));
      });
    });
  });
}
