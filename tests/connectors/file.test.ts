import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ConflictingRecordsError, type Connector } from '../../connectors/index.ts';
import { ValidationError } from '../../schema/index.ts';
import { seededRandom, syntheticCreditCode, syntheticIdNumber } from '../../schema/index.ts';
import { connectorsOfKind, upstreamError } from '../support/connectors.ts';

const random = seededRandom(7);
const [a, b, c, missing] = [0, 1, 2, 3].map(() => syntheticIdNumber(random)) as [string, string, string, string];
const enterprise = syntheticCreditCode(random);

let baseDir: string;
let dropDir: string;
beforeAll(async () => {
  baseDir = await mkdtemp(join(tmpdir(), 'hub-file-connector-'));
  dropDir = join(baseDir, 'drop');
  await mkdir(dropDir);
});
afterAll(() => rm(baseDir, { recursive: true, force: true }));

const newConnector = connectorsOfKind('file', () => ({ directory: 'drop' }), () => baseDir);
const fileConnector = (config: Record<string, unknown> = {}): Connector => newConnector(config, 'minzheng-files');


const csv = [
  'idNumber,name,maritalStatus,note',
  `${a},张一,married,`,
  `${b},"李二, Jr.",single,"multi`,
  `line"`,
  `${c},王三,,x`,
  '',
].join('\n');

describe('file connector: CSV', () => {
  beforeAll(() => writeFile(join(dropDir, 'marriage.csv'), `\uFEFF${csv}`));

  it('answers in key order with only the asked items, strings and null for empty cells', async () => {
    const records = await fileConnector().fetchMany({
      dataset: 'marriage.csv', keyField: 'idNumber', keys: [c, missing, a, c], items: ['name', 'maritalStatus'],
    });
    expect(records).toEqual([
      { idNumber: c, name: '王三', maritalStatus: null },
      null,
      { idNumber: a, name: '张一', maritalStatus: 'married' },
      { idNumber: c, name: '王三', maritalStatus: null },
    ]);
  });

  it('keeps quoted commas and line breaks inside a cell', async () => {
    const [record] = await fileConnector().fetchMany({ dataset: 'marriage.csv', keyField: 'idNumber', keys: [b], items: ['name', 'note'] });
    expect(record).toEqual({ idNumber: b, name: '李二, Jr.', note: 'multi\nline' });
  });

  it('names the line of a malformed row, never its content', async () => {
    await writeFile(join(dropDir, 'broken.csv'), `idNumber,name\n${a},张一\n${b},李二,extra\n`);
    const error = await upstreamError(fileConnector().fetchMany({ dataset: 'broken.csv', keyField: 'idNumber', keys: [a], items: ['name'] }));
    expect(error.message).toContain('"broken.csv" line 3');
    expect(error.message).not.toContain('李二');
    expect(error.message).not.toContain(b);
  });

  it('rejects a header with a repeated column', async () => {
    await writeFile(join(dropDir, 'dup.csv'), `idNumber,name,name\n${a},x,y\n`);
    const error = await upstreamError(fileConnector().fetchMany({ dataset: 'dup.csv', keyField: 'idNumber', keys: [a], items: ['name'] }));
    expect(error.message).toContain('line 1 repeats a column name');
  });
});

describe('file connector: JSONL', () => {
  it('reads one object per line, keeps JSON types, skips blank lines', async () => {
    await writeFile(join(dropDir, 'licences.jsonl'), [
      JSON.stringify({ creditCode: enterprise, name: '广州测试有限公司', capital: 100, secret: 'x' }),
      '',
      JSON.stringify({ creditCode: 'other', name: '其他' }),
    ].join('\r\n'));
    const records = await fileConnector().fetchMany({
      dataset: 'licences.jsonl', keyField: 'creditCode', keys: [enterprise, 'nope'], items: ['name', 'capital'],
    });
    expect(records).toEqual([{ creditCode: enterprise, name: '广州测试有限公司', capital: 100 }, null]);
  });

  it('names the malformed line, never its content', async () => {
    await writeFile(join(dropDir, 'bad.jsonl'), [
      JSON.stringify({ idNumber: a, name: '张一' }),
      '',
      `{"idNumber": "${b}", "name": "李二"`,
    ].join('\n'));
    const error = await upstreamError(fileConnector().fetchMany({ dataset: 'bad.jsonl', keyField: 'idNumber', keys: [a], items: ['name'] }));
    expect(error.message).toContain('file "bad.jsonl" line 3 is not valid JSON');
    expect(error.message).not.toContain('李二');
    expect(error.message).not.toContain(b);
    expect(error.cause).toBeUndefined();
  });

  it('names a line that is not an object', async () => {
    await writeFile(join(dropDir, 'array.jsonl'), `${JSON.stringify({ idNumber: a })}\n[1, 2]\n`);
    const error = await upstreamError(fileConnector().fetchMany({ dataset: 'array.jsonl', keyField: 'idNumber', keys: [a], items: [] }));
    expect(error.message).toContain('line 2 is not a JSON object');
  });

  it('uses the configured format whatever the extension', async () => {
    await writeFile(join(dropDir, 'export.txt'), `${JSON.stringify({ idNumber: a, name: '张一' })}\n`);
    const [record] = await fileConnector({ format: 'jsonl' }).fetchMany({ dataset: 'export.txt', keyField: 'idNumber', keys: [a], items: ['name'] });
    expect(record).toEqual({ idNumber: a, name: '张一' });
  });
});

describe('file connector: reloads and failures', () => {
  it('reloads when the file changes, and recovers after a broken version (recheckMilliseconds 0: every call stats the file)', async () => {
    const path = join(dropDir, 'social.jsonl');
    const connector = fileConnector({ recheckMilliseconds: 0 });
    const ask = { dataset: 'social.jsonl', keyField: 'idNumber', keys: [a], items: ['status'] };
    await writeFile(path, `${JSON.stringify({ idNumber: a, status: 'active' })}\n`);
    expect(await connector.fetchMany(ask)).toEqual([{ idNumber: a, status: 'active' }]);

    await writeFile(path, `${JSON.stringify({ idNumber: a, status: 'suspended' })}\n`);
    await utimes(path, new Date(), new Date(Date.now() + 5000));
    const concurrent = await Promise.all([connector.fetchMany(ask), connector.fetchMany(ask)]);
    expect(concurrent).toEqual([[{ idNumber: a, status: 'suspended' }], [{ idNumber: a, status: 'suspended' }]]);

    await writeFile(path, 'not json\n');
    await upstreamError(connector.fetchMany(ask));

    await writeFile(path, `${JSON.stringify({ idNumber: a, status: 'stopped' })}\n`);
    expect(await connector.fetchMany(ask)).toEqual([{ idNumber: a, status: 'stopped' }]);
  });

  it('trusts a stat of the file for recheckMilliseconds: a replaced file is served once that has passed, not before', async () => {
    const path = join(dropDir, 'window.jsonl');
    const ask = { dataset: 'window.jsonl', keyField: 'idNumber', keys: [a], items: ['status'] };
    const version = async (status: string, offset: number) => {
      await writeFile(path, `${JSON.stringify({ idNumber: a, status })}\n`);
      await utimes(path, new Date(), new Date(Date.now() + offset));
    };
    await version('active', 0);
    const hourly = fileConnector({ recheckMilliseconds: 3_600_000 });
    expect(await hourly.fetchMany(ask)).toEqual([{ idNumber: a, status: 'active' }]);
    await version('suspended', 5000);
    expect(await hourly.fetchMany(ask)).toEqual([{ idNumber: a, status: 'active' }]);

    const quick = fileConnector({ recheckMilliseconds: 200 });
    const statted = performance.now();
    expect(await quick.fetchMany(ask)).toEqual([{ idNumber: a, status: 'suspended' }]);
    await version('stopped', 10_000);
    let seen = await quick.fetchMany(ask);
    let answered = performance.now();
    while (seen[0]?.['status'] !== 'stopped' && answered - statted < 5000) {
      await new Promise((r) => setTimeout(r, 20));
      seen = await quick.fetchMany(ask);
      answered = performance.now();
    }
    // Served by a call that ended 200 ms or more after the stat it trusted began. (The connector's
    // clock reads fall inside the calls: bounding the call's start instead failed once, at 199.9 ms.)
    expect(seen).toEqual([{ idNumber: a, status: 'stopped' }]);
    expect(answered - statted).toBeGreaterThanOrEqual(200);
  });

  it('refuses a recheckMilliseconds that is not a whole number of milliseconds from 0 to an hour', () => {
    for (const bad of [-1, 1.5, '1000', 3_600_001]) expect(() => fileConnector({ recheckMilliseconds: bad })).toThrow(ValidationError);
  });

  it('fails naming a missing file', async () => {
    const error = await upstreamError(fileConnector().fetchMany({ dataset: 'absent.csv', keyField: 'idNumber', keys: [a], items: [] }));
    expect(error.message).toBe('file connector "minzheng-files": file "absent.csv" does not exist');
  });

  it.each(['../secret.csv', 'sub/people.csv', 'sub\\people.csv', '..', ''])('rejects dataset %j as a config error', async (dataset) => {
    await expect(fileConnector().fetchMany({ dataset, keyField: 'idNumber', keys: [a], items: [] }))
      .rejects.toBeInstanceOf(ValidationError);
  });

  it('rejects an unknown extension without a configured format', async () => {
    const error = await fileConnector().fetchMany({ dataset: 'people.xlsx', keyField: 'idNumber', keys: [a], items: [] })
      .then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).violations[0]).toMatchObject({ path: '/format' });
  });

  it('reports health of the directory', async () => {
    expect(await fileConnector().health()).toMatchObject({ ok: true });
    expect(await fileConnector({ directory: 'nowhere' }).health()).toMatchObject({ ok: false });
  });

  it('dates its data by the file\'s modification time (quality reports: freshness), through the resilience wrapper', async () => {
    const path = join(dropDir, 'dated.csv');
    await writeFile(path, `idNumber,status\n${a},active\n`);
    const when = new Date('2026-03-04T05:06:07.000Z');
    await utimes(path, when, when);
    const connector = fileConnector();
    expect(await connector.lastChanged!({ dataset: 'dated.csv' })).toEqual({ at: when, basis: 'modification time of file "dated.csv"' });
    const missing = await upstreamError(connector.lastChanged!({ dataset: 'absent.csv' }));
    expect(missing.message).toBe('file connector "minzheng-files": file "absent.csv" does not exist');
    await expect(connector.lastChanged!({ dataset: '../secret.csv' })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('file connector: a key on two rows', () => {
  beforeAll(() => writeFile(join(dropDir, 'twice.jsonl'), [
    { idNumber: a, name: '张一', status: 'married' },
    { idNumber: a, name: '张一', status: 'divorced' },
    { idNumber: b, name: '李二', status: 'single' },
    { idNumber: b, name: '李二', status: 'single' },
  ].map((r) => JSON.stringify(r)).join('\n')));

  it('serves neither of two rows that differ in an asked item, and the other keys', async () => {
    const error = await fileConnector().fetchMany({ dataset: 'twice.jsonl', keyField: 'idNumber', keys: [a, b], items: ['status'] }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictingRecordsError);
    expect((error as ConflictingRecordsError).answers).toEqual([null, { idNumber: b, status: 'single' }]);
    expect([...(error as ConflictingRecordsError).conflicting]).toEqual([a]);
  });

  it('serves one of two rows that agree on every asked item', async () => {
    expect(await fileConnector().fetchMany({ dataset: 'twice.jsonl', keyField: 'idNumber', keys: [a, b], items: ['name'] })).toEqual([
      { idNumber: a, name: '张一' }, { idNumber: b, name: '李二' },
    ]);
  });
});
