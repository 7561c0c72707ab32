/**
 * The write concern access evidence is written with, chosen for the server the hub talks to.
 *
 * A record is durable when it survives the crash of the server and, on a replica set, a failover:
 * - **Replica set or sharded cluster:** `{ w: 'majority', j: true }`. Acknowledged once a majority
 *   of voting members have it in their journals; an election cannot roll it back.
 * - **Standalone `mongod`:** `{ w: 1, j: true }`. The server acknowledges after the write is in the
 *   on-disk journal. Without `j`, `w: 1` acknowledges from memory, and up to a journal interval
 *   (100 ms by default) of acknowledged writes vanish in a crash: never for evidence. `w: 'majority'`
 *   on a standalone waits for the same journal write, so it costs the same; `w: 1, j: true` says
 *   what it is.
 * - **FerretDB** (SQLite backend) reports itself as a standalone and does not act on write concerns:
 *   each command is one SQLite transaction, committed to its write-ahead log with `fsync`
 *   (`synchronous=FULL`, which `provisionMongo` sets explicitly) before it answers.
 *
 * `audit.writeConcern` in the config: `auto` (default) picks by the server's `hello`; `majority`
 * always `{ w: 'majority', j: true }`; `1` always `{ w: 1, j: true }` (on a replica set that is the
 * primary alone: a failover may roll it back, and the hub warns at start).
 */
import type { Db, WriteConcern } from 'mongodb';

export type WriteConcernSetting = 'auto' | 'majority' | 1;
export type Topology = 'replicaSet' | 'sharded' | 'standalone';

/** What the server is, from its `hello` answer (`setName`: replica set member; `msg: isdbgrid`: mongos). */
export function topologyOf(hello: Record<string, unknown>): Topology {
  if (typeof hello['setName'] === 'string') return 'replicaSet';
  if (hello['msg'] === 'isdbgrid') return 'sharded';
  return 'standalone';
}

/** Asks the server what it is, within `deadlineMs` (a stalled server fails the start clearly). */
export async function detectTopology(db: Db, deadlineMs: number): Promise<Topology> {
  const hello = await db.admin().command({ hello: 1 }, { timeoutMS: deadlineMs });
  return topologyOf(hello);
}

export function evidenceWriteConcern(setting: WriteConcernSetting, topology: Topology): WriteConcern {
  if (setting === 'majority') return { w: 'majority', journal: true };
  if (setting === 1) return { w: 1, journal: true };
  return topology === 'standalone' ? { w: 1, journal: true } : { w: 'majority', journal: true };
}
