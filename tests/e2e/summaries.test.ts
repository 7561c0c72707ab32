/**
 * A trail moved between FerretDB and MongoDB (audit/summaries.ts): `hub audit summaries` writes
 * every block's summaries in the server's form, from its records, so that MongoDB's searches and
 * statistics see blocks FerretDB wrote; records, leaves and everything else stay as they were.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db, Document } from 'mongodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACCESS_COLLECTION, blocksWith, convertSummaries, encodeBlock, searchAccess, subjectHash, summaryFormOf, type AccessRecord, type SummaryForm } from '../../audit/index.ts';
import type { SearchKey } from '../../audit/encoding.ts';
import { runHub } from '../support/cli.ts';
import { DEMO_CATALOGUE } from '../support/hub.ts';
import { testDatabase, type TestDatabase } from '../support/mongo.ts';

const LOG = 'yiwang-hub/summaries/1';
const DAY = '2026-12-03';

function record(i: number, extra: Partial<AccessRecord> = {}): AccessRecord {
  return {
    at: new Date(Date.parse(`${DAY}T03:00:00Z`) + i), day: DAY, requestId: `req-${i}`, action: 'read', system: 'mz-dibao', department: 'MZ',
    principalKind: 'system', operator: 'op-1', purpose: '440000-DIBAO-001', caseId: `case-${i % 3}`, resource: i % 2 ? 'GA-HUKOU' : 'GA-VEHICLE', provider: 'GA',
    subjectType: 'person', subject: subjectHash(Buffer.alloc(32, 4), `person-${i}`), itemsReturned: ['name'], itemsMasked: [], itemsRefused: [], itemsVerified: [],
    grants: [{ id: 'g-1', version: 1 }], decision: i % 5 === 0 ? 'deny' : 'allow', code: i % 5 === 0 ? 'FORBIDDEN' : null, denial: null, reason: null, consent: null, attempt: null,
    ...extra,
  };
}

/** Three blocks of records as the writer groups them, the last with a case number holding a line break. */
const groups: AccessRecord[][] = [
  Array.from({ length: 7 }, (_, i) => record(i)),
  Array.from({ length: 12 }, (_, i) => record(7 + i)),
  [record(19, { caseId: 'case\nwith a line break' }), record(20)],
];
const blocks = (form: SummaryForm): Document[] => {
  let seq = 0;
  return groups.map((records) => {
    const { doc } = encodeBlock(LOG, seq, records, new Date(`${DAY}T04:00:00Z`), undefined, form);
    seq += records.length;
    return doc;
  });
};
const summariesOf = (docs: Document[]) => docs.map((d) => ({ keys: d['keys'], tally: d['tally'] }));

describe('`hub audit summaries`: a trail moved between FerretDB and MongoDB', () => {
  let t: TestDatabase;
  let db: Db;
  const stored = async () => db.collection(ACCESS_COLLECTION).find({ log: LOG }, { projection: { _id: 0 } }).sort({ seq: 1 }).toArray();

  beforeEach(async () => {
    t = await testDatabase('summaries');
    db = t.db;
    // Written by a hub on FerretDB: summaries as text.
    await db.collection(ACCESS_COLLECTION).insertMany(blocks('text'));
  });
  afterEach(async () => {
    await t?.drop();
  });

  it('writes lists from the blocks\' records, as a hub on MongoDB would have; nothing else changes, and MongoDB\'s search finds them', async () => {
    const before = await stored();
    // MongoDB's reader (its filter of blocks by summaries) does not see text summaries: an auditor's search finds nothing.
    const blocksFor = async (values: Partial<Record<SearchKey, string>>) => (await db.collection(ACCESS_COLLECTION).find(blocksWith(values, 'fields')).sort({ seq: 1 }).toArray()).map((b) => b['seq']);
    expect(await blocksFor({ caseId: 'case-1' })).toEqual([]);

    expect(await convertSummaries(db, { form: 'fields', dryRun: true })).toEqual({ form: 'fields', blocks: 3, converted: 3 });
    expect(await stored()).toEqual(before);
    expect(await convertSummaries(db, { form: 'fields' })).toEqual({ form: 'fields', blocks: 3, converted: 3 });
    const after = await stored();
    expect(summariesOf(after)).toEqual(summariesOf(blocks('fields')));
    // The records, their leaves, the block's place: as they were.
    expect(after.map(({ keys: _k, tally: _t, ...rest }) => rest)).toEqual(before.map(({ keys: _k, tally: _t, ...rest }) => rest));

    expect(await blocksFor({ caseId: 'case-1' })).toEqual([0, 7]);
    expect((await searchAccess(db, { system: 'mz-dibao', decision: 'deny' }, 'fields')).map((r) => r.requestId).sort()).toEqual(['req-0', 'req-10', 'req-15', 'req-20', 'req-5']);
    // A value with a line break is one key again (splitting the text would have made two).
    expect(await blocksFor({ caseId: 'case\nwith a line break' })).toEqual([19]);
    // Progress after every batch of updates (a trail of years takes a while).
    const seen: number[] = [];
    await convertSummaries(db, { form: 'text', dryRun: true, batch: 1, onProgress: (p) => seen.push(p.converted) });
    expect(seen).toEqual([1, 2, 3]);
    // Once: the next run finds nothing to do.
    expect(await convertSummaries(db, { form: 'fields' })).toEqual({ form: 'fields', blocks: 3, converted: 0 });
    // And back, for a trail moved to FerretDB.
    expect(await convertSummaries(db, { form: 'text' })).toEqual({ form: 'text', blocks: 3, converted: 3 });
    expect(summariesOf(await stored())).toEqual(summariesOf(blocks('text')));
  });

  it('is a command of `hub`: the configured server\'s form by default, the one given with --to, and a dry run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hub-summaries-'));
    try {
      const config = join(dir, 'hub.yaml');
      await writeFile(config, `mongodb: { uri: "${t.uri}", database: ${t.name} }\ncatalogue: ${DEMO_CATALOGUE}\n`);
      const dry = await runHub(['audit', 'summaries', '--config', config, '--to', 'lists', '--dry-run']);
      expect({ code: dry.code, stdout: dry.stdout, stderr: dry.stderr }).toEqual({ code: 0, stdout: '3 of 3 evidence blocks would have their summaries written as lists (MongoDB) (dry run: nothing changed)\n', stderr: '' });
      const lists = await runHub(['audit', 'summaries', '--config', config, '--to', 'lists']);
      expect(lists.stdout).toBe('3 of 3 evidence blocks have their summaries written as lists (MongoDB)\n');
      // By default the server's own form (text on FerretDB, lists on a MongoDB that MONGODB_URI names).
      const form = await summaryFormOf(db);
      const own = await runHub(['audit', 'summaries', '--config', config]);
      expect({ code: own.code, stdout: own.stdout }).toEqual({
        code: 0, stdout: form === 'text' ? '3 of 3 evidence blocks have their summaries written as text (FerretDB)\n' : '0 of 3 evidence blocks have their summaries written as lists (MongoDB)\n',
      });
      expect(summariesOf(await stored())).toEqual(summariesOf(blocks(form)));
      const bad = await runHub(['audit', 'summaries', '--config', config, '--to', 'arrays']);
      expect({ code: bad.code, first: bad.stderr.split('\n')[0] }).toEqual({ code: 2, first: 'hub: --to must be lists or text, got "arrays"' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
