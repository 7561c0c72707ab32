/**
 * A fault no code handled in `hub serve` (gateway/faults.ts): one structured `fatal` log line on
 * the hub's log stream and exit code 1 at once, not Node's stack trace on stderr, and no serving on.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runProcess, type CliResult } from '../support/cli.ts';
import { ROOT } from '../support/hub.ts';

function run(fault: string): Promise<CliResult> {
  const script = [
    `import { exitOnFaults } from ${JSON.stringify(join(ROOT, 'gateway/faults.ts'))};`,
    `import { createLogger } from ${JSON.stringify(join(ROOT, 'gateway/logger.ts'))};`,
    `exitOnFaults(createLogger('info'));`,
    `setTimeout(() => { ${fault} }, 10);`,
    `setTimeout(() => console.log('still serving'), 3000);`,
  ].join('\n');
  return runProcess(process.execPath, ['--input-type=module', '-e', script], process.env, 30_000);
}

describe('a fault no code handled', () => {
  it.each([
    ['unhandled promise rejection', "void Promise.reject(new Error('boom in a promise'));", 'boom in a promise'],
    ['uncaught exception', "throw new Error('boom in a timer');", 'boom in a timer'],
  ])('(%s) is one fatal log line and exit code 1', async (kind, fault, message) => {
    const r = await run(fault);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string; err?: { message: string; type: string } });
    expect(lines.map((l) => [l.level, l.msg, l.err?.type, l.err?.message])).toEqual([[60, `${kind}: a fault no code handled; exiting`, 'Error', message]]);
  }, 40_000);
});
