/**
 * The orchestrator's side of a server process: start it (fork), wait until it listens, call its
 * RPC, stop it. A process that does not stop in time is killed by its own pid.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isReady, isRpcReply, type Op, type OpResults, type ReadyMessage, type RpcReply, type ServerSpec } from './protocol.ts';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
const READY_TIMEOUT_MS = 120_000;
const CALL_TIMEOUT_MS = 60_000;

export interface ServerHandle {
  readonly label: string;
  readonly spec: ServerSpec;
  readonly url: string;
  readonly pid: number;
  readonly workerPids: readonly number[];
  call<K extends Op>(op: K): Promise<OpResults[K]>;
  stop(): Promise<void>;
}

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** `childPath`: the child.ts of another checkout of the hub (a baseline commit); default this one's. */
export async function startServer(label: string, spec: ServerSpec, childPath = CHILD): Promise<ServerHandle> {
  const child = fork(childPath, [], {
    env: { ...process.env, BENCH_SERVER_SPEC: JSON.stringify(spec) },
    execArgv: [...(spec.nodeFlags ?? [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const { ready, call, stop } = await controlChild(child, label);
  return { label, spec, url: ready.url, pid: ready.pid, workerPids: ready.workerPids, call, stop };
}

/**
 * A forked server process under control: waits (bounded) for its ready message (a child that does
 * not start in time is killed), then its RPC with a deadline per call, and a stop that kills it by
 * pid when it does not end in time. Shared by the hub's servers and the peers.
 */
export async function controlChild(child: ChildProcess, label: string): Promise<{
  ready: ReadyMessage;
  call: <K extends Op>(op: K) => Promise<OpResults[K]>;
  stop: () => Promise<void>;
}> {
  const pending = new Map<number, (reply: RpcReply) => void>();
  let nextId = 1;

  const ready = await new Promise<ReadyMessage>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${label} did not start within ${READY_TIMEOUT_MS / 1000} s`));
    }, READY_TIMEOUT_MS);
    child.on('message', (m: unknown) => {
      if (isReady(m)) {
        clearTimeout(timer);
        resolve(m);
      } else if (isRpcReply(m)) {
        pending.get(m.id)?.(m);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited (${signal ?? code}) before it was ready`));
      for (const resolveReply of pending.values()) resolveReply({ id: 0, ok: false, error: `${label} exited` });
    });
  });

  const call = <K extends Op>(op: K): Promise<OpResults[K]> => new Promise((resolve, reject) => {
    if (!child.connected) return reject(new Error(`${label} is not running`));
    const id = nextId++;
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new Error(`${label}: ${op} got no answer within ${CALL_TIMEOUT_MS / 1000} s`));
    }, CALL_TIMEOUT_MS);
    pending.set(id, (reply) => {
      clearTimeout(timer);
      pending.delete(id);
      if (reply.ok) resolve(reply.result as OpResults[K]);
      else reject(new Error(`${label}: ${op} failed: ${reply.error}`));
    });
    child.send({ id, op });
  });

  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= (async () => {
    const gone = exited(child);
    try {
      await Promise.race([call('stop'), new Promise((resolve) => setTimeout(resolve, 15_000))]);
    } catch {
      // already gone, or failing to stop: killed below
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(timer);
  })());

  return { ready, call, stop };
}
