/**
 * Entry of the (d) server process: Hive Gateway (GraphQL Mesh) over the sample REST departments,
 * loaded from bench/peers/ (its own node_modules, installed on demand: servers/peer-control.ts).
 *
 * At start it composes the supergraph as `mesh-compose` would from bench/peers/mesh.config.mjs
 * (each department's OpenAPI description, GET /openapi.json, POST lookups as query fields), then
 * serves it with `createGatewayRuntime` and bench/peers/gateway.config.mjs on node:http, 127.0.0.1,
 * as `hive-gateway supergraph` does (no built-in plugins by default). It answers the same IPC
 * requests as the other server processes (servers/protocol.ts): memory and CPU, profile, stop;
 * connector call counts are empty (it has no connectors: the probe counts the departments' lookups).
 * None of the hub's modules are loaded here.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance as nodePerformance } from 'node:perf_hooks';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InProcessProfiler } from './profile.ts';
import { isRpcRequest, type MemoryStats, type Op, type OpResults, type ReadyMessage, type RpcReply } from './protocol.ts';

/** How to start the (d) process (JSON in BENCH_PEER_SPEC). */
export interface PeerSpec {
  /** bench/peers: holds index.mjs, the configs and node_modules. */
  readonly peersDir: string;
  /** DEMO_GONGAN_URL, DEMO_MINZHENG_URL …: read by mesh.config.mjs through Mesh's `{env.…}`. */
  readonly departmentEnv: Readonly<Record<string, string>>;
  readonly keepProfile: boolean;
}

/** The little of @graphql-mesh/types' Logger that composition calls. */
interface MeshLogger {
  log(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  info(...args: unknown[]): void;
  error(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  child(name: unknown): MeshLogger;
}

/** What bench/peers/index.mjs exports (typed here: the packages are not the hub's dependencies). */
interface PeerModules {
  getComposedSchemaFromConfig(config: unknown, logger: MeshLogger): Promise<string>;
  createGatewayRuntime(config: Record<string, unknown>): ((req: IncomingMessage, res: ServerResponse) => void) & { dispose?(): Promise<void> | void };
  readonly composeConfig: unknown;
  readonly gatewayConfig: Record<string, unknown>;
}

function readSpec(): PeerSpec {
  const raw = process.env['BENCH_PEER_SPEC'];
  if (!raw) throw new Error('BENCH_PEER_SPEC is not set: this file is started by bench/run.ts');
  return JSON.parse(raw) as PeerSpec;
}

function send(message: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) return reject(new Error('no IPC channel'));
    process.send(message, undefined, {}, (error) => (error ? reject(error) : resolve()));
  });
}

const quiet = (prefix: string): MeshLogger => {
  const logger: MeshLogger = {
    log: () => undefined,
    info: () => undefined,
    debug: () => undefined,
    warn: (...args) => console.warn(prefix, ...args),
    error: (...args) => console.error(prefix, ...args),
    child: () => logger,
  };
  return logger;
};

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

  take(): MemoryStats {
    const rss = this.#sample();
    const windowPeakRss = this.#peak;
    this.#peak = rss;
    const cpu = process.cpuUsage();
    const loop = nodePerformance.eventLoopUtilization();
    return { rss, windowPeakRss, maxRss: process.resourceUsage().maxRSS * 1024, cpuMicros: cpu.user + cpu.system, loopActiveMs: loop.active, loopIdleMs: loop.idle };
  }
}

let stopping = false;
// Registered first: if the orchestrator goes away while the supergraph is being composed, this
// process must not outlive it.
process.on('disconnect', () => {
  if (!stopping) process.exit(1);
});

async function main(): Promise<void> {
  const spec = readSpec();
  Object.assign(process.env, spec.departmentEnv);
  const peers = (await import(pathToFileURL(join(spec.peersDir, 'index.mjs')).href)) as PeerModules;
  const composeStarted = performance.now();
  const supergraph = await peers.getComposedSchemaFromConfig(peers.composeConfig, quiet('[mesh-compose]'));
  const composeMs = Math.round(performance.now() - composeStarted);
  const gateway = peers.createGatewayRuntime({ ...peers.gatewayConfig, supergraph });
  const server = createServer(gateway);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;

  const memory = new MemorySampler();
  const profiler = new InProcessProfiler();
  const close = async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await gateway.dispose?.();
  };
  const handlers: { [K in Op]: () => Promise<OpResults[K]> } = {
    counts: async () => ({ calls: {} }),
    memory: async () => memory.take(),
    audit: async () => ({ written: 0, writes: 0, writeMillis: 0 }),
    'profile-start': async () => {
      await profiler.start();
      return null;
    },
    'profile-stop': () => profiler.stop(spec.keepProfile),
    stop: async () => {
      stopping = true;
      await close();
      return null;
    },
  };
  process.on('message', (message: unknown) => {
    if (!isRpcRequest(message)) return;
    const { id, op } = message;
    handlers[op]()
      .then((result) => send({ id, ok: true, result } satisfies RpcReply))
      .catch((error: unknown) => send({ id, ok: false, error: error instanceof Error ? error.message : String(error) } satisfies RpcReply))
      .finally(() => {
        if (op === 'stop') process.exit(0);
      })
      .catch(() => undefined);
  });
  await send({ type: 'ready', url, pid: process.pid, workerPids: [], composeMs } satisfies ReadyMessage & { composeMs: number });
}

await main();
