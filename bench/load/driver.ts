/**
 * Runs one load run in a separate autocannon process and returns its figures. The run is bounded
 * by time and count inside autocannon; a process that overstays is killed by its pid.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadResult, LoadSpec } from './types.ts';

const CHILD = fileURLToPath(new URL('./autocannon-child.ts', import.meta.url));

type Reply = { readonly ok: true; readonly result: LoadResult } | { readonly ok: false; readonly error: string };

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const child = fork(CHILD, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise<LoadResult>((resolve, reject) => {
    let settled = false;
    const finish = (action: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      action();
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(() => reject(new Error(`load generator overran ${spec.seconds} s by more than 60 s`)));
    }, (spec.seconds + 60) * 1000);
    child.once('message', (reply: Reply) => finish(() => (reply.ok ? resolve(reply.result) : reject(new Error(reply.error)))));
    child.once('exit', (code) => finish(() => reject(new Error(`load generator exited with ${code} before answering`))));
    child.send(spec);
  });
}
