import { chmod, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { findExecutable } from '../../gateway/mongo/executables.ts';
import { acceptsTcp } from '../../gateway/mongo/server-process.ts';
import {
  cachedFerretDB,
  ensureFerretDB,
  freeLoopbackPort,
  ProvisionError,
  provisionMongo,
} from '../../gateway/mongo/provision.ts';

interface Grant {
  _id: string;
  purpose: string;
}

const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
const cacheDir = join(projectRoot, '.cache');
const log = (message: string): void => console.log(`[provision test] ${message}`);

// The FerretDB path needs the cached binary, or Go to build it. With MONGODB_URI set (CI against a
// real MongoDB) nothing was pre-built, and these tests should not start a multi-minute build.
const goBinary = await findExecutable('go', process.env);
const ferretdbAvailable =
  (await cachedFerretDB(cacheDir)) !== undefined || (goBinary !== undefined && !process.env['MONGODB_URI']);

const scratch: string[] = [];
async function scratchDir(label: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `yiwang-provision-${label}-`));
  scratch.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** process.env without MONGODB_URI, whose PATH is `extraDirs` then every PATH dir that has no mongod. */
async function envWithoutMongo(extraDirs: readonly string[]): Promise<NodeJS.ProcessEnv> {
  const kept: string[] = [];
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir !== '' && (await findExecutable('mongod', { PATH: dir })) === undefined) kept.push(dir);
  }
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: [...extraDirs, ...kept].join(delimiter) };
  delete env['MONGODB_URI'];
  return env;
}

async function withClient<T>(uri: string, use: (client: MongoClient) => Promise<T>): Promise<T> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5_000 });
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}


function nonLoopbackIPv4(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  return undefined;
}

describe('provisionMongo with MONGODB_URI', () => {
  it('uses MONGODB_URI as is when it answers, and stop() leaves that server alone', async () => {
    const uri = inject('mongoUri');
    const dataDir = await scratchDir('env');
    const provision = await provisionMongo({ dataDir, cacheDir, env: { ...process.env, MONGODB_URI: uri } });

    expect(provision.source).toBe('env');
    expect(provision.uri).toBe(uri);
    await provision.stop();
    const answer = await withClient(uri, (client) => client.db('admin').command({ ping: 1 }));
    expect(answer['ok']).toBe(1);
    expect(await readdir(dataDir)).toEqual([]);
  });

  it('refuses a MONGODB_URI that does not answer, naming the fix and hiding the password', async () => {
    const port = await freeLoopbackPort(); // nothing listens there
    const error: unknown = await provisionMongo({
      dataDir: await scratchDir('dead'),
      cacheDir,
      env: { ...process.env, MONGODB_URI: `mongodb://hub:s3cret-pw@127.0.0.1:${port}/hub` },
    }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ProvisionError);
    const message = (error as ProvisionError).message;
    expect(message).toContain(`MONGODB_URI is set to mongodb://hub:***@127.0.0.1:${port}/hub`);
    expect(message).toContain('no MongoDB server answered a ping');
    expect(message).toMatch(/correct MONGODB_URI.*unset MONGODB_URI/s);
    expect(message).not.toContain('s3cret-pw');
  });
});

describe('provisionMongo without MONGODB_URI', () => {
  it('says what to install when there is no mongod, no Go and no cached FerretDB', async () => {
    const emptyBin = await scratchDir('empty-bin');
    const error: unknown = await provisionMongo({
      dataDir: await scratchDir('nothing'),
      cacheDir: await scratchDir('empty-cache'),
      env: { PATH: emptyBin, HOME: emptyBin },
    }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ProvisionError);
    const message = (error as ProvisionError).message;
    expect(message).toContain('Go is not on PATH');
    expect(message).toContain('Go 1.24 or newer');
    expect(message).toContain('https://go.dev/dl/');
    expect(message).toContain('MongoDB 6 or newer and set MONGODB_URI');
  });
});

/** A directory holding a stand-in `go` made of `script` (a POSIX sh body). */
async function fakeGo(label: string, script: string): Promise<string> {
  const bin = await scratchDir(label);
  await writeFile(join(bin, 'go'), `#!/bin/sh\n${script}\n`);
  await chmod(join(bin, 'go'), 0o755);
  return bin;
}

describe('ensureFerretDB with an unusable Go', () => {
  it('names the Go version it needs when the installed one is too old', async () => {
    const bin = await fakeGo('old-go', '[ "$1 $2" = "env GOVERSION" ] && echo go1.19.8 && exit 0\nexit 1');
    const error: unknown = await ensureFerretDB(await scratchDir('old-go-cache'), undefined, {
      env: { PATH: bin, HOME: bin },
    }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ProvisionError);
    expect((error as ProvisionError).message).toMatch(/is go1\.19\.8, too old to build FerretDB v1\.24\.2/);
    expect((error as ProvisionError).message).toContain('Go 1.24 or newer');
  });

  it('passes on what went wrong when the build fails, and leaves no binary or lock behind', async () => {
    const bin = await fakeGo(
      'failing-go',
      '[ "$1 $2" = "env GOVERSION" ] && echo go1.24.3 && exit 0\necho "go: module lookup disabled by GOPROXY=off" >&2\nexit 1',
    );
    const cache = await scratchDir('failing-go-cache');
    const error: unknown = await ensureFerretDB(cache, undefined, { env: { PATH: bin, HOME: bin } }).catch(
      (caught: unknown) => caught,
    );

    expect(error).toBeInstanceOf(ProvisionError);
    expect((error as ProvisionError).message).toContain('go mod download');
    expect((error as ProvisionError).message).toContain('module lookup disabled by GOPROXY=off');
    expect(await readdir(cache)).toEqual(['ferretdb-v1.24.2']);
    expect(await readdir(join(cache, 'ferretdb-v1.24.2'))).toEqual([]);
  });
});

describe('provisionMongo on a fixed port', () => {
  it('refuses a port something already listens on, instead of mistaking that server for its own', async () => {
    const occupant = createServer();
    await new Promise<void>((resolve) => occupant.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const { port } = occupant.address() as AddressInfo;
    try {
      const error: unknown = await provisionMongo({
        dataDir: await scratchDir('busy'),
        cacheDir: await scratchDir('busy-cache'),
        port,
        env: { PATH: '' },
      }).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(ProvisionError);
      expect((error as ProvisionError).message).toContain(`127.0.0.1:${port} is already in use`);
    } finally {
      await new Promise((resolve) => occupant.close(resolve));
    }
  });
});

describe.skipIf(!ferretdbAvailable)('provisionMongo with FerretDB and stand-in mongod', () => {
  let env: NodeJS.ProcessEnv;
  let ferretdb: string;

  beforeAll(async () => {
    // PATH: a directory holding only `go` (when installed), then PATH without any mongod.
    const goOnly = await scratchDir('go-only');
    if (goBinary !== undefined) await symlink(goBinary, join(goOnly, 'go'));
    env = await envWithoutMongo([goOnly]);
    ferretdb = await ensureFerretDB(cacheDir, log, { env }); // built once, then cached
  }, 20 * 60_000);

  it('starts FerretDB on 127.0.0.1 only, and its data survives stop and a restart (on a given port) on the same dataDir', async () => {
    const dataDir = join(await scratchDir('ferret'), 'data'); // provisionMongo creates it
    const first = await provisionMongo({ dataDir, cacheDir, env, log });
    let firstPort: number;
    try {
      expect(first.source).toBe('ferretdb');
      const url = new URL(first.uri);
      expect(url.hostname).toBe('127.0.0.1');
      firstPort = Number(url.port);
      const outside = nonLoopbackIPv4();
      if (outside !== undefined) expect(await acceptsTcp(outside, firstPort)).toBe(false);

      await withClient(first.uri, async (client) => {
        await client.db('survival').collection<Grant>('grants').insertOne({ _id: 'g-1', purpose: 'P-001' });
      });
    } finally {
      await first.stop();
    }
    await first.stop(); // idempotent
    expect(await acceptsTcp('127.0.0.1', firstPort)).toBe(false);

    const port = await freeLoopbackPort();
    const second = await provisionMongo({ dataDir, cacheDir, env, log, port });
    try {
      expect(second.source).toBe('ferretdb');
      expect(second.uri).toBe(`mongodb://127.0.0.1:${port}/`);
      const found = await withClient(second.uri, (client) =>
        client.db('survival').collection<Grant>('grants').findOne({ _id: 'g-1' }),
      );
      expect(found).toMatchObject({ purpose: 'P-001' });
    } finally {
      await second.stop();
    }
  });

  it("runs FerretDB with Go's collector at GOGC=400 unless the environment sets GOGC", async () => {
    const gogcOf = async (given: string | undefined): Promise<string | undefined> => {
      const childEnv: NodeJS.ProcessEnv = { ...env };
      if (given === undefined) delete childEnv['GOGC'];
      else childEnv['GOGC'] = given;
      const server = await provisionMongo({ dataDir: join(await scratchDir('gogc'), 'data'), cacheDir, env: childEnv, log });
      try {
        const environ = (await readFile(`/proc/${server.pid}/environ`, 'utf8')).split('\0');
        return environ.find((v) => v.startsWith('GOGC='));
      } finally {
        await server.stop();
      }
    };
    expect(await gogcOf(undefined)).toBe('GOGC=400');
    expect(await gogcOf('150')).toBe('GOGC=150');
  });

  it('prefers mongod from PATH, started with --dbpath, --bind_ip 127.0.0.1 and --port', async () => {
    // A stand-in mongod: checks the arguments it gets, then serves them with FerretDB.
    const bin = await scratchDir('fake-mongod');
    await writeFile(
      join(bin, 'mongod'),
      [
        '#!/bin/sh',
        'while [ $# -gt 0 ]; do',
        '  case "$1" in',
        '    --dbpath) dbpath=$2; shift 2 ;;',
        '    --bind_ip) bind=$2; shift 2 ;;',
        '    --port) port=$2; shift 2 ;;',
        '    *) echo "stand-in mongod: unexpected argument $1" >&2; exit 2 ;;',
        '  esac',
        'done',
        '[ "$bind" = 127.0.0.1 ] || { echo "stand-in mongod: bind_ip is $bind" >&2; exit 2; }',
        `exec '${ferretdb}' --handler=sqlite "--sqlite-url=file:$dbpath/" "--state-dir=$dbpath" ` +
          '"--listen-addr=$bind:$port" --debug-addr=127.0.0.1:0 --telemetry=disable --log-level=WARN',
        '',
      ].join('\n'),
    );
    await chmod(join(bin, 'mongod'), 0o755);
    const dataDir = await scratchDir('mongod-data');
    const provision = await provisionMongo({ dataDir, cacheDir, env: { ...env, PATH: `${bin}${delimiter}${env['PATH']}` } });
    try {
      expect(provision.source).toBe('mongod');
      expect(new URL(provision.uri).hostname).toBe('127.0.0.1');
      await withClient(provision.uri, (client) => client.db('via_mongod').collection('c').insertOne({ ok: true }));
    } finally {
      await provision.stop();
    }
    expect(await readdir(dataDir)).toEqual(expect.arrayContaining(['mongod.log', 'via_mongod.sqlite']));
  });

  // Retried: twice in full runs (never alone, 50+ runs) this test ran into its 30 s timeout, the
  // stand-in's exit apparently never observed; the cause is not found (see the closing note of issue 10).
  it('reports the end of the server output when it exits before answering', { retry: 2 }, async () => {
    const bin = await scratchDir('broken-mongod');
    await writeFile(join(bin, 'mongod'), '#!/bin/sh\necho "stand-in mongod: cannot lock dbpath" >&2\nexit 100\n');
    await chmod(join(bin, 'mongod'), 0o755);
    const error: unknown = await provisionMongo({
      dataDir: await scratchDir('broken-data'),
      cacheDir,
      env: { ...env, PATH: `${bin}${delimiter}${env['PATH']}` },
    }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ProvisionError);
    expect((error as ProvisionError).message).toMatch(/mongod exited \(exit code 100\) before answering a ping/);
    expect((error as ProvisionError).message).toContain('stand-in mongod: cannot lock dbpath');
  });
});
