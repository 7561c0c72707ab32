/**
 * The write concern of access evidence: majority + journal where a failover could roll a write back,
 * w 1 + journal on a standalone, never an acknowledgement from memory.
 */
import { describe, expect, it } from 'vitest';
import { detectTopology, evidenceWriteConcern, topologyOf } from '../../audit/index.ts';
import { ferretdbArgs } from '../../gateway/mongo/ferretdb.ts';
import { testDatabase } from '../support/mongo.ts';

describe('topology from hello', () => {
  it('tells a replica set member, a mongos and a standalone apart', () => {
    expect(topologyOf({ isWritablePrimary: true, setName: 'rs0', hosts: ['a:27017'] })).toBe('replicaSet');
    expect(topologyOf({ isWritablePrimary: true, msg: 'isdbgrid' })).toBe('sharded');
    expect(topologyOf({ isWritablePrimary: true, maxWireVersion: 21 })).toBe('standalone');
  });

  it('finds the test server (FerretDB or a standalone mongod) to be a standalone', async () => {
    const t = await testDatabase('durability');
    try {
      expect(await detectTopology(t.db, 5000)).toBe('standalone');
    } finally {
      await t.drop();
    }
  });
});

describe('evidence write concern', () => {
  it('auto: majority + journal on a replica set or sharded cluster, w 1 + journal on a standalone', () => {
    expect(evidenceWriteConcern('auto', 'replicaSet')).toEqual({ w: 'majority', journal: true });
    expect(evidenceWriteConcern('auto', 'sharded')).toEqual({ w: 'majority', journal: true });
    expect(evidenceWriteConcern('auto', 'standalone')).toEqual({ w: 1, journal: true });
  });

  it('an explicit setting holds whatever the server, and always waits for the journal', () => {
    expect(evidenceWriteConcern('majority', 'standalone')).toEqual({ w: 'majority', journal: true });
    expect(evidenceWriteConcern(1, 'replicaSet')).toEqual({ w: 1, journal: true });
  });

  it('starts FerretDB with fsync on every commit (SQLite synchronous=FULL)', () => {
    const url = ferretdbArgs('/tmp/some-dir', 27017).find((a) => a.startsWith('--sqlite-url='));
    expect(url).toBe('--sqlite-url=file:///tmp/some-dir/?_pragma=synchronous(FULL)');
  });
});
