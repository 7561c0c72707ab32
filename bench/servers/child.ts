/**
 * Entry of one server process: (a) ceiling, (b) plain gateway or (c) hub, as BENCH_SERVER_SPEC
 * says. Answers the orchestrator's RPC over IPC (call counts, memory, audit, profile, stop) and
 * exits when the orchestrator goes away. With `workers > 1` (hub only) this process is a
 * node:cluster primary: its workers share one loopback port, and it relays the RPC to them.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance as nodePerformance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { loadHubCatalogue } from '../../gateway/runtime.ts';
import { ROOT } from '../config.ts';
import { createCeilingServer } from './ceiling.ts';
import { CallCounter, createCatalogueConnectors, registerCountingKinds, withCountedConnectors } from './counting.ts';
import { startBenchHub } from './hub.ts';
import { createPlainServer } from './plain.ts';
import { InProcessProfiler } from './profile.ts';
import {
  isReady, isRpcReply, isRpcRequest, type AuditStats, type CallCounts, type MemoryStats, type Op, type OpResults,
  type ReadyMessage, type RpcReply, type ServerSpec,
} from './protocol.ts';

const CATALOGUE_DIR = `${ROOT}demo/catalogue`;

interface Running {
  readonly url: string;
  audit(): Promise<AuditStats>;
  close(): Promise<void>;
}

function readSpec(): ServerSpec {
  const raw = process.env['BENCH_SERVER_SPEC'];
  if (!raw) throw new Error('BENCH_SERVER_SPEC is not set: this file is started by bench/run.ts');
  return JSON.parse(raw) as ServerSpec;
}

function send(message: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) return reject(new Error('no IPC channel'));
    process.send(message, undefined, {}, (error) => (error ? reject(error) : resolve()));
  });
}

/** Replies to an RPC request with its outcome; after `stop`, the process exits. */
function answer(id: number, op: Op, work: Promise<unknown>): void {
  work
    .then((result) => send({ id, ok: true, result } satisfies RpcReply))
    .catch((error: unknown) => send({ id, ok: false, error: error instanceof Error ? error.message : String(error) } satisfies RpcReply))
    .finally(() => {
      if (op === 'stop') process.exit(0);
    })
    .catch(() => undefined);
}

function listen(server: Server, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`);
    });
  });
}

async function startKind(spec: ServerSpec, env: NodeJS.ProcessEnv): Promise<{ running: Running; counter: CallCounter }> {
  const counter = new CallCounter();
  registerCountingKinds(counter);
  const hub = spec.kind === 'hub' || spec.kind === 'hub-noaudit';
  const catalogue = withCountedConnectors(await loadHubCatalogue(CATALOGUE_DIR, env), spec.collapse ?? (hub ? undefined : false));
  if (hub) {
    return { running: await startBenchHub(spec, CATALOGUE_DIR, catalogue, env, spec.kind === 'hub-noaudit'), counter };
  }

  const connectors = createCatalogueConnectors(catalogue, CATALOGUE_DIR, env);
  const server = spec.kind === 'ceiling' ? createCeilingServer({ catalogue, connectors }) : createPlainServer(catalogue, connectors);
  const url = await listen(server, spec.port);
  return {
    counter,
    running: {
      url,
      audit: async () => ({ written: 0, writes: 0, writeMillis: 0 }),
      close: async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await Promise.allSettled([...connectors.values()].map((c) => c.close()));
      },
    },
  };
}

class MemorySampler {
  #peak = 0;
  readonly #timer: NodeJS.Timeout;

  constructor() {
    this.#timer = setInterval(() => this.#sample(), 200);
    this.#timer.unref();
  }

  #sample(): number {
    const rss = process.memoryUsage.rss();
    if (rss > this.#peak) this.#peak = rss;
    return rss;
  }

  /** Current, windowed peak (then reset) and lifetime peak RSS. */
  take(): MemoryStats {
    const rss = this.#sample();
    const windowPeakRss = this.#peak;
    this.#peak = rss;
    const cpu = process.cpuUsage();
    const loop = nodePerformance.eventLoopUtilization();
    return { rss, windowPeakRss, maxRss: process.resourceUsage().maxRSS * 1024, cpuMicros: cpu.user + cpu.system, loopActiveMs: loop.active, loopIdleMs: loop.idle };
  }
}

async function runServer(spec: ServerSpec): Promise<void> {
  const env = { ...process.env, ...spec.departmentEnv };
  const { running, counter } = await startKind(spec, env);
  const memory = new MemorySampler();
  const profiler = new InProcessProfiler();
  let stopping = false;
  const handlers: { [K in Op]: () => Promise<OpResults[K]> } = {
    counts: async (): Promise<CallCounts> => ({ calls: counter.snapshot() }),
    memory: async () => memory.take(),
    audit: () => running.audit(),
    'profile-start': async () => {
      await profiler.start();
      return null;
    },
    'profile-stop': () => profiler.stop(spec.keepProfile),
    stop: async () => {
      stopping = true;
      await running.close();
      return null;
    },
  };
  process.on('message', (message: unknown) => {
    if (!isRpcRequest(message)) return;
    const { id, op } = message;
    answer(id, op, handlers[op]());
  });
  process.on('disconnect', () => {
    if (!stopping) process.exit(1);
  });
  await send({ type: 'ready', url: running.url, pid: process.pid, workerPids: [] } satisfies ReadyMessage);
}

function combine(op: Op, results: readonly unknown[]): unknown {
  switch (op) {
    case 'counts': {
      const calls: Record<string, number> = {};
      for (const r of results as CallCounts[]) for (const [k, v] of Object.entries(r.calls)) calls[k] = (calls[k] ?? 0) + v;
      return { calls } satisfies CallCounts;
    }
    case 'memory': {
      const all = results as MemoryStats[];
      const sum = (f: (m: MemoryStats) => number) => all.reduce((s, m) => s + f(m), 0);
      return {
        rss: sum((m) => m.rss), windowPeakRss: sum((m) => m.windowPeakRss), maxRss: sum((m) => m.maxRss), cpuMicros: sum((m) => m.cpuMicros),
        loopActiveMs: sum((m) => m.loopActiveMs), loopIdleMs: sum((m) => m.loopIdleMs),
      } satisfies MemoryStats;
    }
    case 'audit': {
      const sum = (f: (a: AuditStats) => number) => (results as AuditStats[]).reduce((s, a) => s + f(a), 0);
      return { written: sum((a) => a.written), writes: sum((a) => a.writes), writeMillis: sum((a) => a.writeMillis) } satisfies AuditStats;
    }
    default:
      return null;
  }
}

async function runPrimary(spec: ServerSpec): Promise<void> {
  cluster.setupPrimary({ exec: fileURLToPath(import.meta.url), execArgv: process.execArgv });
  const workers: Worker[] = Array.from({ length: spec.workers }, () => cluster.fork());
  let nextId = 1;
  const pending = new Map<number, (reply: RpcReply) => void>();
  const ready = workers.map((w) => new Promise<ReadyMessage>((resolve, reject) => {
    w.on('message', (m: unknown) => {
      if (isReady(m)) resolve(m);
      else if (isRpcReply(m)) pending.get(m.id)?.(m);
    });
    w.once('exit', (code) => reject(new Error(`worker ${w.process.pid} exited with ${code} before it was ready`)));
  }));
  const readies = await Promise.all(ready);
  const ask = (w: Worker, op: Op) => new Promise<unknown>((resolve, reject) => {
    const id = nextId++;
    pending.set(id, (reply) => {
      pending.delete(id);
      if (reply.ok) resolve(reply.result);
      else reject(new Error(reply.error));
    });
    w.send({ id, op });
  });
  process.on('message', (message: unknown) => {
    if (!isRpcRequest(message)) return;
    const { id, op } = message;
    const exited = op === 'stop' ? workers.map((w) => new Promise((resolve) => w.once('exit', resolve))) : [];
    const work = op === 'profile-start' || op === 'profile-stop'
      ? Promise.reject(new Error('profiling is not supported with several workers'))
      : Promise.all(workers.map((w) => ask(w, op))).then(async (results) => {
        await Promise.all(exited);
        return combine(op, results);
      });
    answer(id, op, work);
  });
  process.on('disconnect', () => {
    for (const w of workers) w.process.kill();
    process.exit(1);
  });
  await send({ type: 'ready', url: readies[0]!.url, pid: process.pid, workerPids: readies.map((r) => r.pid) } satisfies ReadyMessage);
}

const spec = readSpec();
if (spec.workers > 1 && cluster.isPrimary) await runPrimary(spec);
else await runServer(spec);
