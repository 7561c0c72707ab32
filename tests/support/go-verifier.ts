/**
 * Runs the independent verifier (tests/go-verifier: Go's own sumdb/note and sumdb/tlog) on one
 * request; its answer is "ok" or what failed.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './hub.ts';

export function goVerify(request: object): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('go', ['run', '.'], { cwd: join(ROOT, 'tests/go-verifier'), stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, GOFLAGS: '-mod=mod' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 || out ? resolve(out.trim()) : reject(new Error(`go run failed: ${err}`))));
    child.stdin.end(JSON.stringify(request));
  });
}
