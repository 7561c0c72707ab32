/**
 * The hub's MongoDB clients: a command-line command against a server that stops answering in
 * the middle of a command ends with a clear error instead of waiting forever, and the server
 * reads from the primary whatever read preference its connection string asks for.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../gateway/config.ts';
import { startHub, type RunningHub } from '../../gateway/hub.ts';
import { createLogger } from '../../gateway/logger.ts';
import { loadHubCatalogue } from '../../gateway/runtime.ts';
import { runHub } from '../support/cli.ts';
import { DEMO_CATALOGUE, ROOT } from '../support/hub.ts';
import { testDatabase, type TestDatabase } from '../support/mongo.ts';
import { startStallingMongoProxy, type StallingProxy } from '../support/stalling-mongo-proxy.ts';

/** The driver's handshake and monitoring: answered, so the server looks healthy throughout. */
const HANDSHAKE = new Set(['hello', 'isMaster', 'ismaster', 'ping', 'endSessions']);

let db: TestDatabase;
let proxy: StallingProxy;
let dir: string;

beforeAll(async () => {
  db = await testDatabase('mongoclient');
  const target = new URL(db.uri);
  proxy = await startStallingMongoProxy({ host: target.hostname, port: Number(target.port) }, (command) => !HANDSHAKE.has(command));
  dir = await mkdtemp(join(tmpdir(), 'hub-mongo-client-'));
});
afterAll(async () => {
  await proxy?.close();
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('a command-line command whose server stops answering', () => {
  it.each([
    [['token', 'list']],
    [['audit', 'logs']],
  ])('hub %j exits 1 with a clear message, not a wait without end', async (args) => {
    const config = join(dir, `stalled-${args.join('-')}.yaml`);
    await writeFile(config, `mongodb: { uri: "mongodb://127.0.0.1:${proxy.port}/", database: ${db.name}, timeoutMs: 1000 }\ncatalogue: ${DEMO_CATALOGUE}\n`);
    const before = proxy.stalled.length;
    // Killed after 45 s (code null): before the fix, the command waited for an answer forever.
    const r = await runHub([...args, '--config', config], {}, 45_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^hub: MongoDB did not answer \(connection \d+ to 127\.0\.0\.1:\d+ timed out\); check that it runs and answers at mongodb\.uri/);
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    // The server was reached and the command sent: it was the answer that never came.
    expect(proxy.stalled.length).toBeGreaterThan(before);
  }, 60_000);
});

describe('the read preference', () => {
  let hub: RunningHub | undefined;
  afterAll(async () => {
    await hub?.close();
  });

  it('is the primary whatever the connection string asks, with a warning at start', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    // maxStalenessSeconds too: the driver refuses it beside `primary` unless the hub's own read preference replaces it whole.
    const uri = `${db.uri.replace(/\/?(\?.*)?$/, '/')}?readPreference=secondaryPreferred&maxStalenessSeconds=120`;
    const config = parseConfig({ mongodb: { uri, database: db.name }, catalogue: DEMO_CATALOGUE, server: { host: '127.0.0.1', port: 0, graphiql: false } }, 'test config', ROOT, {});
    const catalogue = await loadHubCatalogue(DEMO_CATALOGUE, {});
    hub = await startHub({ config, logger: createLogger('warn', sink), subjectKey: randomBytes(32), signingKey: randomBytes(32).toString('hex'), catalogue });
    expect(hub.runtime.client.readPreference.mode).toBe('primary');
    expect(hub.runtime.client.readPreference.maxStalenessSeconds).toBeUndefined();
    const warned = lines.map((l) => JSON.parse(l) as { msg: string; readPreference?: string }).filter((l) => l.msg.startsWith('mongodb.uri asks for another read preference'));
    expect(warned.map((l) => l.readPreference)).toEqual(['secondaryPreferred']);
    expect((await fetch(new URL('/ready', hub.url))).status).toBe(200);
  }, 60_000);
});
