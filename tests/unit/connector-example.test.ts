/**
 * The README's example connector kind ("Adding a connector kind"): taken out of the README as it
 * stands, type-checked with the project's compiler settings, registered and run against a
 * department service on loopback. Only its import of the hub's connectors is repointed, because the
 * copy lives in .cache/ rather than at the repository root.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectorKinds, createConnector, ResilientConnector } from '../../connectors/index.ts';
import { ValidationError } from '../../schema/ajv.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIR = join(ROOT, '.cache', 'readme-example');
const FILE = join(DIR, `connector-example-${process.pid}.ts`);

async function exampleFromReadme(): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const match = /<!-- connector-example:start -->\n```ts\n([\s\S]*?)\n```\n<!-- connector-example:end -->/.exec(readme);
  if (!match) throw new Error('README.md has no connector example between its markers');
  return match[1]!;
}

const people = [
  { idNumber: '11010519491231002X', name: '张三', status: '在册', extra: 'not asked' },
  { idNumber: '440106199001011235', name: '李四', status: '迁出', extra: 'not asked' },
];
let server: Server;
let baseUrl: string;
let lookups: string[] = [];

beforeAll(async () => {
  const code = await exampleFromReadme();
  await mkdir(DIR, { recursive: true });
  await writeFile(FILE, code.replace("from './connectors/index.ts'", "from '../../connectors/index.ts'"));
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/') return void res.end('ok');
    lookups.push(url.search);
    if (url.pathname !== '/residents') {
      res.writeHead(404);
      return void res.end();
    }
    const keys = new Set(url.searchParams.getAll('key'));
    const fields = (url.searchParams.get('fields') ?? '').split(',');
    // Answers the asked keys, and one record nobody asked for (the connector must drop it).
    const rows = people.filter((p) => keys.has(p.idNumber) || p.name === '李四')
      .map((p) => Object.fromEntries(Object.entries(p).filter(([k]) => fields.includes(k) || k === 'extra')));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(rows));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await rm(FILE, { force: true });
});

describe('the README’s example connector kind', () => {
  it('type-checks with the project’s compiler settings', () => {
    const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (p) => ts.sys.readFile(p));
    const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
    const program = ts.createProgram([FILE], options);
    const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(problems).toEqual([]);
  });

  it('registers, validates its config, and answers one entry per key in order from one call', async () => {
    await import(pathToFileURL(FILE).href);
    expect(connectorKinds()).toContain('query-string');
    expect(() => createConnector('bad', { kind: 'query-string', baseUrl: 'ftp://x' }, { baseDir: ROOT })).toThrow(ValidationError);
    const connector = createConnector('mz-qs', { kind: 'query-string', baseUrl }, { baseDir: ROOT });
    expect(connector).toBeInstanceOf(ResilientConnector);
    lookups = [];
    const answers = await connector.fetchMany({ dataset: 'residents', keyField: 'idNumber', keys: [people[0]!.idNumber, '110105194912310021', people[0]!.idNumber], items: ['name', 'status'] });
    expect(answers).toEqual([
      { idNumber: people[0]!.idNumber, name: '张三', status: '在册' },
      null,
      { idNumber: people[0]!.idNumber, name: '张三', status: '在册' },
    ]);
    expect(lookups).toHaveLength(1);
    expect(await connector.health()).toEqual({ ok: true });
    await expect(connector.fetchMany({ dataset: 'unknown', keyField: 'idNumber', keys: [people[0]!.idNumber], items: ['name'] })).rejects.toThrow(/HTTP 404/);
    await connector.close();
  });
});
