import { randomBytes } from 'node:crypto';
import { chmod, cp, lstat, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { withBuildLock } from './build-lock.ts';
import { installAdvice, ProvisionError } from './errors.ts';
import { findExecutable, isExecutableFile } from './executables.ts';
import { runCommand, type CommandResult } from './run-command.ts';

/** The FerretDB release the hub is tested against (SQLite backend, MongoDB 7.0 wire protocol). */
export const FERRETDB_VERSION = 'v1.24.2';
const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';
/** FerretDB v1.24.2's go.mod says `go 1.24`; Go 1.21+ can fetch that toolchain itself (GOTOOLCHAIN=auto). */
const MIN_GO = { major: 1, minor: 21 } as const;
const HEARTBEAT_MS = 30_000;
const WORK_DIR_PREFIX = 'yiwang-ferretdb-build-';
const LEFTOVER_AGE_MS = 2 * 60 * 60_000;

export interface EnsureFerretDBOptions {
  /** Environment for finding and running `go`. Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

/** Where the cached FerretDB binary lives (or will live) under `cacheDir`. */
export function ferretdbBinaryPath(cacheDir: string): string {
  return join(resolve(cacheDir), `ferretdb-${FERRETDB_VERSION}`, 'ferretdb');
}

/** The cached binary's path if it has been built already, else undefined. Never builds. */
export async function cachedFerretDB(cacheDir: string): Promise<string | undefined> {
  const binary = ferretdbBinaryPath(cacheDir);
  return (await isExecutableFile(binary)) ? binary : undefined;
}

/**
 * Returns the path of a FerretDB v1.24.2 binary, building it with Go the first time.
 *
 * The build goes through `go mod download` (not `go install`, which the module proxy refuses for
 * this version here), compiles a writable copy of the module source, and renames the result into
 * `cacheDir/ferretdb-v1.24.2/ferretdb` atomically: a killed build never leaves a half binary. A lock
 * directory next to it keeps concurrent processes (vitest workers, CI steps) from building twice.
 */
export async function ensureFerretDB(
  cacheDir: string,
  log?: (message: string) => void,
  options: EnsureFerretDBOptions = {},
): Promise<string> {
  const binary = ferretdbBinaryPath(cacheDir);
  if (await isExecutableFile(binary)) return binary;

  const env = options.env ?? process.env;
  const go = await findExecutable('go', env);
  if (go === undefined) {
    throw new ProvisionError(
      `FerretDB ${FERRETDB_VERSION} is not built yet (in ${cacheDir}) and Go is not on PATH to build it.\n` +
        installAdvice(cacheDir),
    );
  }
  const goEnv = buildEnv(env);
  const goVersion = await checkGoVersion(go, goEnv, cacheDir);

  const binDir = join(resolve(cacheDir), `ferretdb-${FERRETDB_VERSION}`);
  await mkdir(binDir, { recursive: true });
  await withBuildLock(
    { lockDir: `${binDir}.lock`, isDone: () => isExecutableFile(binary), what: `FerretDB ${FERRETDB_VERSION}`, log },
    () => build({ go, goVersion, goEnv, binDir, binary, cacheDir, log }),
  );
  if (!(await isExecutableFile(binary))) {
    throw new ProvisionError(`The FerretDB build finished but ${binary} is missing or not executable.`);
  }
  return binary;
}

/** Command-line flags for a loopback-only FerretDB on the SQLite backend, telemetry off. */
export function ferretdbArgs(dataDir: string, port: number): string[] {
  const dir = resolve(dataDir);
  return [
    '--handler=sqlite',
    // FerretDB wants a file: URI naming an existing directory, ending with '/'. synchronous=FULL:
    // every commit is fsynced to the write-ahead log before FerretDB answers (SQLite's default too,
    // stated here because the audit trail's durability rests on it; FerretDB ignores write concerns).
    `--sqlite-url=${pathToFileURL(dir).href}/?_pragma=synchronous(FULL)`,
    `--state-dir=${dir}`,
    `--listen-addr=127.0.0.1:${port}`,
    '--debug-addr=127.0.0.1:0',
    '--telemetry=disable',
    '--log-level=WARN',
  ];
}

/**
 * Go's garbage collector target for FerretDB unless GOGC is set: 400 instead of Go's 100. FerretDB
 * allocates a lot per command (BSON, its JSON form, SQLite's C heap emulated in Go); at 100 the
 * collector was an eighth of its CPU under the audit writer's load. 400 cuts its CPU per insert by
 * a fifth for about 12 MB more memory; higher values bought nothing more (bench/README.md, lever 7).
 */
export const FERRETDB_GOGC = '400';

/**
 * The child's environment: FERRETDB_* variables would override or add settings, so drop them;
 * GOGC as given, else FERRETDB_GOGC.
 */
export function ferretdbEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(env)) if (!key.startsWith('FERRETDB_')) clean[key] = value;
  clean['DO_NOT_TRACK'] = '1';
  if (clean['GOGC'] === undefined || clean['GOGC'].trim() === '') clean['GOGC'] = FERRETDB_GOGC;
  return clean;
}

function buildEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    ...env,
    GO111MODULE: 'on',
    GOWORK: 'off',
    // Pure-Go build (modernc SQLite): no C compiler needed. No VCS stamping: the copy is no repository.
    CGO_ENABLED: '0',
    GOFLAGS: '-buildvcs=false',
  };
}

async function checkGoVersion(go: string, env: NodeJS.ProcessEnv, cacheDir: string): Promise<string> {
  const result = await runCommand(go, ['env', 'GOVERSION'], { cwd: tmpdir(), env });
  const version = result.stdout.trim();
  const match = /go(\d+)\.(\d+)/.exec(version);
  if (result.code !== 0 || match === null) {
    throw new ProvisionError(
      `${go} does not work (\`go env GOVERSION\` failed: ${lastLines(result.stderr) || `exit code ${result.code}`}).\n` +
        installAdvice(cacheDir),
    );
  }
  const major = Number(match[1]);
  const minor = Number(match[2]);
  if (major < MIN_GO.major || (major === MIN_GO.major && minor < MIN_GO.minor)) {
    throw new ProvisionError(`${go} is ${version}, too old to build FerretDB ${FERRETDB_VERSION}.\n${installAdvice(cacheDir)}`);
  }
  return version;
}

interface BuildInput {
  readonly go: string;
  readonly goVersion: string;
  readonly goEnv: NodeJS.ProcessEnv;
  readonly binDir: string;
  readonly binary: string;
  readonly cacheDir: string;
  readonly log: ((message: string) => void) | undefined;
}

async function build(input: BuildInput): Promise<void> {
  const { go, goVersion, goEnv, binDir, binary, log } = input;
  const started = Date.now();
  log?.(
    `Building FerretDB ${FERRETDB_VERSION} with ${goVersion} into ${binary} ` +
      '(first run only: about a minute with warm Go caches, a few minutes cold)…',
  );
  const heartbeat = setInterval(() => {
    log?.(`…still building FerretDB (${Math.round((Date.now() - started) / 1000)} s)`);
  }, HEARTBEAT_MS);
  await removeLeftovers(binDir);
  const workDir = await mkdtemp(join(tmpdir(), WORK_DIR_PREFIX));
  const tmpBinary = join(binDir, `.ferretdb.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const moduleDir = await downloadModule(input, workDir);

    const srcDir = join(workDir, 'FerretDB');
    await cp(moduleDir, srcDir, { recursive: true });
    await makeWritable(srcDir); // the module cache is read-only
    // Normally generated from git by `task gen-version`; without it the binary panics at start.
    await writeFile(join(srcDir, 'build', 'version', 'version.txt'), `${FERRETDB_VERSION}\n`);

    const compiled = await runCommand(go, ['build', '-trimpath', '-o', tmpBinary, './cmd/ferretdb'], {
      cwd: srcDir,
      env: goEnv,
      onStderrLine: (line) => log?.(line),
    });
    if (compiled.code !== 0) throw failure('`go build ./cmd/ferretdb` failed', compiled, input.cacheDir);

    const probe = await runCommand(tmpBinary, ['--version'], { cwd: workDir, env: ferretdbEnv(goEnv) });
    if (probe.code !== 0 || !probe.stdout.includes(FERRETDB_VERSION)) {
      throw failure(`the built binary does not report version ${FERRETDB_VERSION}`, probe, input.cacheDir);
    }
    await chmod(tmpBinary, 0o755);
    await rename(tmpBinary, binary);
    log?.(`Built FerretDB ${FERRETDB_VERSION} in ${Math.round((Date.now() - started) / 1000)} s: ${binary}`);
  } finally {
    clearInterval(heartbeat);
    await rm(tmpBinary, { force: true });
    await rm(workDir, { recursive: true, force: true });
  }
}

/** `go mod download -json` and the (read-only) directory it unpacked the module into. */
async function downloadModule(input: BuildInput, workDir: string): Promise<string> {
  const result = await runCommand(input.go, ['mod', 'download', '-json', `${FERRETDB_MODULE}@${FERRETDB_VERSION}`], {
    cwd: workDir,
    env: input.goEnv,
    onStderrLine: (line) => input.log?.(line),
  });
  let info: unknown;
  try {
    info = JSON.parse(result.stdout);
  } catch {
    info = undefined;
  }
  const record = typeof info === 'object' && info !== null ? (info as Record<string, unknown>) : {};
  const dir = record['Dir'];
  if (result.code !== 0 || typeof dir !== 'string' || dir === '') {
    const reported = typeof record['Error'] === 'string' ? `: ${record['Error']}` : '';
    throw failure(
      `\`go mod download ${FERRETDB_MODULE}@${FERRETDB_VERSION}\` failed${reported} ` +
        '(is the Go module proxy reachable? see GOPROXY)',
      result,
      input.cacheDir,
    );
  }
  return dir;
}

/**
 * What builds that were killed left behind: temporary binaries in `binDir` (we hold the lock, so no
 * one else writes there) and source copies in the temp dir (only old ones: another cache may be
 * building right now).
 */
async function removeLeftovers(binDir: string): Promise<void> {
  for (const name of await readdir(binDir)) {
    if (name.startsWith('.ferretdb.') && name.endsWith('.tmp')) await rm(join(binDir, name), { force: true });
  }
  for (const name of await readdir(tmpdir())) {
    if (!name.startsWith(WORK_DIR_PREFIX)) continue;
    const path = join(tmpdir(), name);
    try {
      if (Date.now() - (await lstat(path)).mtimeMs < LEFTOVER_AGE_MS) continue;
      await makeWritable(path);
      await rm(path, { recursive: true, force: true });
    } catch {
      // best effort: it may belong to someone else, or be gone already
    }
  }
}

async function makeWritable(root: string): Promise<void> {
  const entries = await readdir(root, { recursive: true });
  for (const path of [root, ...entries.map((entry) => join(root, entry))]) {
    const info = await lstat(path);
    if (!info.isSymbolicLink()) await chmod(path, info.mode | 0o200);
  }
}

function failure(what: string, result: CommandResult, cacheDir: string): ProvisionError {
  const status = result.signal !== null ? `signal ${result.signal}` : `exit code ${result.code}`;
  const output = lastLines(result.stderr);
  return new ProvisionError(
    `Could not build FerretDB ${FERRETDB_VERSION}: ${what} (${status}).` +
      (output === '' ? '' : `\nLast lines of its output:\n${output}`) +
      `\nFix the problem above and run again (the build resumes from Go's caches), or skip the build: ` +
      `run MongoDB 6+ and set MONGODB_URI, or put mongod on PATH. Builds are cached in ${cacheDir}.`,
  );
}

function lastLines(text: string, count = 20): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}
