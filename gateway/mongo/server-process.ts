import { spawn, type ChildProcess } from 'node:child_process';
import { open } from 'node:fs/promises';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { ProvisionError } from './errors.ts';
import { errorMessage, ping } from './ping.ts';

export interface ServerProcessOptions {
  /** Short name for messages: `ferretdb`, `mongod`. */
  readonly name: string;
  /** Absolute path of the executable. */
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** The server's stdout and stderr go here; the file is truncated at each start. */
  readonly logFile: string;
  /** Where the server is expected to answer once started. */
  readonly uri: string;
  /** The TCP address in `uri`: probed first (cheap, fails fast) before each ping. */
  readonly address?: { readonly host: string; readonly port: number };
  /** How long to wait for the first answered ping. Default 30 s. */
  readonly readyTimeoutMs?: number;
  readonly log?: (message: string) => void;
}

export interface ServerProcess {
  readonly pid: number;
  /** SIGTERM, then SIGKILL after a grace period; resolves once the process has exited. Idempotent. */
  stop(): Promise<void>;
}

/** The server process ended before it answered a ping. `logTail` holds the end of its output. */
export class ServerExitedError extends ProvisionError {
  override readonly name: string = 'ServerExitedError';
  readonly logTail: string;
  constructor(message: string, logTail: string) {
    super(message);
    this.logTail = logTail;
  }
}

const PING_TIMEOUT_MS = 1_000;
const PING_INTERVAL_MS = 200;
const TCP_PROBE_INTERVAL_MS = 25;
const STOP_GRACE_MS = 5_000;
const LOG_TAIL_BYTES = 4_096;

interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly error?: Error;
}

/**
 * Starts a MongoDB-wire server as a child process and resolves once it answers a ping.
 *
 * The child does not keep the parent's event loop alive, and it is sent SIGTERM when the parent
 * process exits normally (`process.on('exit')`). A parent killed by a signal it does not handle
 * cannot do that: callers that run until interrupted should call `stop()` from their own
 * SIGINT/SIGTERM handler.
 */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const { name, command, args, env, logFile, uri, log } = options;
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;

  const logHandle = await open(logFile, 'w');
  let child: ChildProcess;
  try {
    child = spawn(command, args, { env, stdio: ['ignore', logHandle.fd, logHandle.fd] });
  } finally {
    await logHandle.close();
  }

  let exitInfo: ExitInfo | undefined;
  let stopping = false;
  let ready = false;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('error', (error) => {
      exitInfo ??= { code: null, signal: null, error };
      resolve(exitInfo);
    });
    child.once('exit', (code, signal) => {
      exitInfo ??= { code, signal };
      resolve(exitInfo);
    });
  });
  const killOnExit = (): void => {
    if (exitInfo === undefined) child.kill('SIGTERM');
  };
  process.on('exit', killOnExit);
  child.unref();

  let stopPromise: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopPromise ??= (async () => {
      stopping = true;
      process.off('exit', killOnExit);
      if (exitInfo !== undefined) return;
      child.ref();
      child.kill('SIGTERM');
      const escalation = setTimeout(() => {
        log?.(`${name} (pid ${child.pid}) did not stop within ${STOP_GRACE_MS / 1000} s; sending SIGKILL`);
        child.kill('SIGKILL');
      }, STOP_GRACE_MS);
      try {
        await exited;
      } finally {
        clearTimeout(escalation);
      }
    })();
    return stopPromise;
  };

  void exited.then((info) => {
    process.off('exit', killOnExit);
    if (ready && !stopping) {
      log?.(`${name} (pid ${child.pid}) exited unexpectedly (${describeExit(info)}); its output is in ${logFile}`);
    }
  });

  const describeEarlyExit = async (info: ExitInfo): Promise<ServerExitedError> => {
    const tail = await readTail(logFile);
    const cause = info.error !== undefined ? `could not be started: ${info.error.message}` : `exited (${describeExit(info)})`;
    return new ServerExitedError(
      `${name} ${cause} before answering a ping on ${uri}.` +
        (tail === '' ? '' : `\nLast lines of its output (${logFile}):\n${tail}`),
      tail,
    );
  };

  const deadline = Date.now() + readyTimeoutMs;
  let lastError = 'no attempt made';
  for (;;) {
    if (exitInfo !== undefined) throw await describeEarlyExit(exitInfo);
    if (options.address !== undefined && !(await acceptsTcp(options.address.host, options.address.port))) {
      lastError = `nothing accepts connections on ${options.address.host}:${options.address.port} yet`;
      if (Date.now() < deadline) {
        await sleep(TCP_PROBE_INTERVAL_MS);
        continue;
      }
    }
    const attempt = ping(uri, PING_TIMEOUT_MS).then(
      () => 'ready' as const,
      (error: unknown) => {
        lastError = errorMessage(error);
        return 'not yet' as const;
      },
    );
    const outcome = await Promise.race([attempt, exited.then(() => 'exited' as const)]);
    if (outcome === 'ready') break;
    if (outcome === 'exited') continue;
    if (Date.now() >= deadline) {
      await stop();
      const tail = await readTail(logFile);
      throw new ProvisionError(
        `${name} started but did not answer a ping on ${uri} within ${readyTimeoutMs / 1000} s ` +
          `(last error: ${lastError}); it has been stopped.` +
          (tail === '' ? '' : `\nLast lines of its output (${logFile}):\n${tail}`),
      );
    }
    await sleep(PING_INTERVAL_MS);
  }

  if (child.pid === undefined) throw await describeEarlyExit(await exited);
  ready = true;
  return { pid: child.pid, stop };
}

export function acceptsTcp(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(PING_TIMEOUT_MS);
    const done = (accepted: boolean): void => {
      socket.destroy();
      resolve(accepted);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

function describeExit(info: ExitInfo): string {
  if (info.error !== undefined) return info.error.message;
  return info.signal !== null ? `signal ${info.signal}` : `exit code ${info.code ?? 'unknown'}`;
}

/** The last few KiB of a file, trimmed to whole lines; '' when unreadable. */
export async function readTail(path: string, bytes = LOG_TAIL_BYTES): Promise<string> {
  try {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      const start = Math.max(0, size - bytes);
      const buffer = Buffer.alloc(size - start);
      await handle.read(buffer, 0, buffer.length, start);
      let text = buffer.toString('utf8');
      if (start > 0) text = text.slice(text.indexOf('\n') + 1);
      return text.trimEnd();
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}
