/**
 * Real `hub serve` child processes for end-to-end tests that kill, restart or run several hubs:
 * started from a config file, found by the URL they log, stopped by signal, each wait bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { ROOT } from './hub.ts';

export interface HubProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The GraphQL endpoint URL the process logged when it started serving. */
  readonly url: string;
  /** Resolves with the exit code or signal once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last few kilobytes of its stdout and stderr, for failure messages. */
  output(): string;
  /** Sends `signal` and waits (at most `withinMs`) until the process has exited. */
  stop(signal?: NodeJS.Signals, withinMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const KEEP = 65_536;
/** Every hub process started here and not yet exited. */
const live = new Set<ChildProcess>();

/** Starts `hub serve --config <configPath>`; resolves once it serves, rejects (and kills it) if it does not within `withinMs`. */
export async function startHubProcess(configPath: string, env: NodeJS.ProcessEnv = {}, withinMs = 30_000): Promise<HubProcess> {
  const child = spawn(process.execPath, [join(ROOT, 'gateway/cli.ts'), 'serve', '--config', configPath], {
    cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-KEEP);
  };
  // Always drained: a child blocked on a full pipe would stall under load.
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const stop = async (signal: NodeJS.Signals = 'SIGTERM', stopWithinMs = 15_000) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        exited,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            child.kill('SIGKILL');
            reject(new Error(`hub process ${child.pid} did not exit within ${stopWithinMs} ms of ${signal}: ${out.slice(-4096)}`));
          }, stopWithinMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    const url = await new Promise<string>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`hub serve did not start within ${withinMs} ms: ${out.slice(-4096)}`)), withinMs);
      const look = () => {
        const m = /"url":"([^"]+)"/.exec(out);
        if (!m) return;
        child.stdout!.off('data', look);
        resolve(m[1]!);
      };
      child.stdout!.on('data', look);
      child.once('error', reject);
      void exited.then(({ code, signal }) => reject(new Error(`hub serve exited (${code ?? signal}) before serving: ${out.slice(-4096)}`)));
    });
    return { child, pid: child.pid!, url, exited, output: () => out, stop };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Kills (SIGKILL) every hub process started here that is still running, and waits until they have exited (at most `withinMs`). */
export async function killHubProcesses(withinMs = 10_000): Promise<void> {
  const waits = [...live].map((child) => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  }));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(waits), new Promise<void>((resolve) => { timer = setTimeout(resolve, withinMs); })]);
  clearTimeout(timer);
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface JitterProxy {
  /** The MongoDB URI to give the hub: the proxy, connected to directly. */
  readonly uri: string;
  /**
   * Resolves at the next moment the proxy has reordered two commands that contain `marker` (a
   * collection's name, say): it delivered one while it still holds one sent earlier on another
   * connection.
   */
  reordered(marker: string): Promise<void>;
  /** Delivers nothing more on the connections open now: what they hold never reaches the server (call it as their client is killed). */
  freeze(): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy to a MongoDB-wire server that delays what clients send by a random 0–`maxDelayMs`
 * per chunk (in order on each connection, so connections overtake one another, as on a network
 * or in a busy server's queue), and drops what it still holds when the client goes away: a write
 * a dead client sent that never reached the server is never applied. What was delivered reaches
 * the server whole (the server side is half-closed, not reset). Replies pass without delay.
 */
export async function startJitterProxy(targetUri: string, maxDelayMs: number): Promise<JitterProxy> {
  const m = /^mongodb:\/\/(?:[^@/]*@)?([^,/?]+)(\/[^?]*)?(\?.*)?$/.exec(targetUri);
  if (!m) throw new Error(`the jitter proxy needs a single-host mongodb:// URI, not ${targetUri}`);
  const [host, port] = m[1]!.startsWith('[') ? [m[1]!.slice(1, m[1]!.indexOf(']')), m[1]!.split(']:')[1]] : m[1]!.split(':');
  const sockets = new Set<Socket>();
  type Held = { at: number; sent: number; chunk: Buffer };
  /** What each connection holds, oldest first. */
  const held = new Map<Socket, Held[]>();
  let waiters: Array<{ marker: Buffer; resolve: () => void }> = [];
  const frozen = new Set<Held[]>();
  const wakeOnReorder = (queue: Held[], delivered: Held) => {
    for (const w of waiters) {
      if (!delivered.chunk.includes(w.marker)) continue;
      const overtaken = [...held.values()].some((q) => q !== queue && q.some((h) => h.sent < delivered.sent && h.chunk.includes(w.marker)));
      if (!overtaken) continue;
      waiters = waiters.filter((x) => x !== w);
      w.resolve();
    }
  };
  const server = createServer((client) => {
    const upstream = connect(Number(port ?? 27017), host!);
    sockets.add(client);
    sockets.add(upstream);
    const queue: Held[] = [];
    held.set(client, queue);
    let timer: NodeJS.Timeout | undefined;
    let open = true;
    const pump = () => {
      timer = undefined;
      while (open && !frozen.has(queue) && queue.length > 0 && queue[0]!.at <= performance.now()) {
        const delivered = queue.shift()!;
        upstream.write(delivered.chunk);
        if (waiters.length > 0) wakeOnReorder(queue, delivered);
      }
      if (open && !frozen.has(queue) && queue.length > 0) timer = setTimeout(pump, Math.max(0, queue[0]!.at - performance.now()));
    };
    client.on('data', (chunk: Buffer) => {
      const now = performance.now();
      const at = Math.max(queue.at(-1)?.at ?? 0, now + Math.random() * maxDelayMs);
      queue.push({ at, sent: now, chunk });
      timer ??= setTimeout(pump, Math.max(0, at - now));
    });
    upstream.on('data', (chunk: Buffer) => {
      if (open) client.write(chunk);
    });
    const end = () => {
      if (!open) return;
      open = false;
      clearTimeout(timer);
      queue.length = 0; // what the client sent and the server never got is lost with the client
      held.delete(client);
      frozen.delete(queue);
      client.destroy();
      upstream.end(); // what the server got, it gets whole
      upstream.resume();
      sockets.delete(client);
    };
    client.on('end', end);
    client.on('close', end);
    client.on('error', end);
    upstream.on('error', () => {
      end();
      upstream.destroy();
    });
    upstream.on('close', () => {
      end();
      sockets.delete(upstream);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port: listening } = server.address() as AddressInfo;
  const query = m[3] ? `${m[3]}&directConnection=true` : '?directConnection=true';
  const credentials = /^mongodb:\/\/([^@/]*@)/.exec(targetUri)?.[1] ?? '';
  return {
    uri: `mongodb://${credentials}127.0.0.1:${listening}${m[2] ?? '/'}${query}`,
    reordered: (marker) => new Promise<void>((resolve) => waiters.push({ marker: Buffer.from(marker), resolve })),
    freeze: () => {
      for (const q of held.values()) frozen.add(q);
    },
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** One read sent to a hub process under load, as the client saw it. */
export interface ReadOutcome {
  readonly id: string;
  readonly url: string;
  /** performance.now() when it was sent. */
  readonly sent: number;
  /** HTTP status, or `failed` when no response came (connection refused or reset). */
  readonly status: number | 'failed';
  /** A 200 whose data holds the record asked for, without errors. */
  readonly data: boolean;
  readonly codes: readonly string[];
}

/**
 * Reads of `hukou { gender }` with `query` (variable `$id`), each for one of `subjects` chosen by the
 * last four base-36 digits of its request id, sent with that request id; `load` keeps `workers`
 * loops per URL sending one read after the other until `until()` says stop (checked before every
 * request) or `maxPerWorker` were sent, so the load ends by itself. Neither ever throws.
 */
export function personReads(query: string, subjects: readonly string[]): {
  read(url: string, token: string, id: string): Promise<ReadOutcome>;
  load(urls: readonly string[], token: string, tag: string, workers: number, until: () => boolean, maxPerWorker?: number): Promise<ReadOutcome[]>;
} {
  const read = async (url: string, token: string, id: string): Promise<ReadOutcome> => {
    const subject = subjects[Number.parseInt(id.slice(-4), 36) % subjects.length]!;
    const sent = performance.now();
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-request-id': id },
        body: JSON.stringify({ query, variables: { id: subject } }),
        signal: AbortSignal.timeout(15_000),
      });
      const body = (await res.json()) as { data?: { access?: { person?: { hukou?: { gender?: string } | null } | null } | null } | null; errors?: Array<{ extensions?: { code?: string } }> };
      const codes = (body.errors ?? []).map((e) => String(e.extensions?.code));
      // The request id the records carry is the one sent (a sane caller's id is kept).
      if (res.headers.get('x-request-id') !== id) codes.push(`request id ${res.headers.get('x-request-id')}`);
      const data = res.status === 200 && codes.length === 0 && typeof body.data?.access?.person?.hukou?.gender === 'string';
      return { id, url, sent, status: res.status, data, codes };
    } catch {
      return { id, url, sent, status: 'failed', data: false, codes: [] };
    }
  };
  const load = async (urls: readonly string[], token: string, tag: string, workers: number, until: () => boolean, maxPerWorker = 2000): Promise<ReadOutcome[]> => {
    const outcomes: ReadOutcome[] = [];
    await Promise.all(urls.flatMap((url, u) => Array.from({ length: workers }, async (_, w) => {
      for (let i = 0; i < maxPerWorker && !until(); i++) {
        outcomes.push(await read(url, token, `${tag}-${u}-${w}-${i.toString(36).padStart(4, '0')}`));
      }
    })));
    return outcomes;
  };
  return { read, load };
}
