/**
 * The orchestrator's side of the peers (servers other projects ship, measured next to the hub):
 * installing bench/peers on demand, then starting (d) Hive Gateway as a child process, calling its
 * RPC and stopping it, as servers/control.ts does for (a)–(c).
 *
 * bench/peers has its own package.json and package-lock.json and is no dependency of the hub.
 * When its node_modules is missing (or incomplete), `npm ci --prefix bench/peers` runs once, bounded
 * by BENCH_PEER_INSTALL_SECONDS (600); if it fails, (d) is reported unavailable with the reason,
 * and the rest of the benchmark runs. BENCH_PEERS=0 skips the peers altogether.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlChild } from './control.ts';
import type { Op, OpResults } from './protocol.ts';
import type { PeerSpec } from './peer-hive.ts';

export const PEERS_DIR = fileURLToPath(new URL('../peers/', import.meta.url));
const CHILD = fileURLToPath(new URL('./peer-hive.ts', import.meta.url));

export interface PeerSettings {
  /** BENCH_PEERS (default on): measure the peers at all. */
  readonly enabled: boolean;
  /** BENCH_PEER_INSTALL_SECONDS (default 600): deadline of `npm ci`. */
  readonly installSeconds: number;
}

export function readPeerSettings(env: NodeJS.ProcessEnv = process.env): PeerSettings {
  const enabled = !['0', 'false', 'no', 'off'].includes((env['BENCH_PEERS'] ?? '').trim().toLowerCase());
  const raw = env['BENCH_PEER_INSTALL_SECONDS']?.trim();
  const installSeconds = raw ? Number(raw) : 600;
  if (!Number.isFinite(installSeconds) || installSeconds < 10 || installSeconds > 3600) {
    throw new Error(`BENCH_PEER_INSTALL_SECONDS must be a number from 10 to 3600, got "${raw}"`);
  }
  return { enabled, installSeconds };
}

/** Exact versions of bench/peers' direct dependencies, as installed (or as pinned, when not installed). */
export async function peerVersions(): Promise<Record<string, string>> {
  const pkg = JSON.parse(await readFile(join(PEERS_DIR, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; overrides?: Record<string, string> };
  const names = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.overrides ?? {})];
  const versions: Record<string, string> = {};
  for (const name of names) {
    const installed = await readFile(join(PEERS_DIR, 'node_modules', name, 'package.json'), 'utf8')
      .then((text) => (JSON.parse(text) as { version?: string }).version)
      .catch(() => undefined);
    versions[name] = installed ?? pkg.dependencies?.[name] ?? pkg.overrides?.[name] ?? '?';
  }
  return versions;
}

async function installed(): Promise<boolean> {
  const pkg = JSON.parse(await readFile(join(PEERS_DIR, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  for (const name of Object.keys(pkg.dependencies ?? {})) {
    try {
      await access(join(PEERS_DIR, 'node_modules', name, 'package.json'));
    } catch {
      return false;
    }
  }
  return true;
}

let installing: ChildProcess | undefined;

/** Stops a running `npm ci` (its process group: npm and what it started). */
export function abortPeerInstall(): void {
  const child = installing;
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

/**
 * Makes sure bench/peers/node_modules is there: `npm ci --prefix bench/peers` when it is not.
 * Resolves to null when ready, else to the reason it is not (never throws).
 */
export async function ensurePeersInstalled(settings: PeerSettings, log: (line: string) => void): Promise<string | null> {
  try {
    if (await installed()) return null;
  } catch (error) {
    return `bench/peers/package.json unreadable: ${error instanceof Error ? error.message : String(error)}`;
  }
  log(`  bench/peers/node_modules is missing: npm ci --prefix bench/peers (at most ${settings.installSeconds} s) …`);
  const started = performance.now();
  const outcome = await new Promise<string | null>((resolve) => {
    let tail = '';
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString('utf8')).slice(-2000);
    };
    const child = spawn('npm', ['ci', '--prefix', PEERS_DIR, '--no-audit', '--no-fund'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so that a deadline stops npm and its children
    });
    installing = child;
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      abortPeerInstall();
      resolve(`npm ci --prefix bench/peers did not finish within ${settings.installSeconds} s (BENCH_PEER_INSTALL_SECONDS)`);
    }, settings.installSeconds * 1000);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve(`npm ci --prefix bench/peers could not start: ${error.message}`);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const lastLines = tail.trim().split('\n').slice(-6).join(' | ');
      resolve(code === 0 ? null : `npm ci --prefix bench/peers failed (${signal ?? `exit ${code}`}): ${lastLines}`);
    });
  });
  installing = undefined;
  if (outcome === null) {
    if (!(await installed())) return 'npm ci --prefix bench/peers finished, but the packages are not in bench/peers/node_modules';
    log(`  installed bench/peers in ${Math.round((performance.now() - started) / 1000)} s`);
  }
  return outcome;
}

export interface PeerHandle {
  readonly label: string;
  readonly url: string;
  readonly pid: number;
  /** Time the composition of the supergraph took at start, ms. */
  readonly composeMs: number;
  call<K extends Op>(op: K): Promise<OpResults[K]>;
  stop(): Promise<void>;
}

/** Forks servers/peer-hive.ts and waits (bounded) until it listens. A child that fails to start is killed. */
export async function startPeer(label: string, spec: Omit<PeerSpec, 'peersDir'>): Promise<PeerHandle> {
  const full: PeerSpec = { ...spec, peersDir: PEERS_DIR };
  const child = fork(CHILD, [], {
    env: { ...process.env, BENCH_PEER_SPEC: JSON.stringify(full) },
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const { ready, call, stop } = await controlChild(child, label);
  const composeMs = Number((ready as { composeMs?: unknown }).composeMs ?? Number.NaN);
  return { label, url: ready.url, pid: ready.pid, composeMs, call, stop };
}
