#!/usr/bin/env node
/* global process, console */
// The `hub` command (package.json "bin"), on whatever Node runs it: gateway/cli.ts needs Node 24
// (type stripping), which `npm install` brings (devDependency "node"); on an older Node this shim
// runs the command on that one. Plain JavaScript that any Node since 14 understands.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const major = Number(process.versions.node.split('.')[0]);
const bundled = join(root, 'node_modules', 'node', 'bin', 'node');
const node = major >= 24 ? process.execPath : existsSync(bundled) ? bundled : undefined;
if (node === undefined) {
  console.error(`hub: needs Node 24; this is Node ${process.versions.node}. Run \`npm install\` in ${root} (it brings Node 24), then try again.`);
  process.exit(1);
}
const child = spawn(node, [join(root, 'gateway', 'cli.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
// Signals sent to this process (a service manager's SIGTERM, SIGHUP) reach the hub.
const forward = (signal) => child.kill(signal);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, forward);
child.on('error', (error) => {
  console.error(`hub: cannot run ${node}: ${error.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  if (signal !== null) {
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.off(s, forward);
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code ?? 1);
});
