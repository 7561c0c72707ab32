/**
 * Administrative evidence (管理留痕): who changed the hub's registry, credentials, grants,
 * applications, demands or consents, in which role, when, what, the state before and after, and
 * why. Kept apart from access evidence (X-Road style); written before the change is reported done.
 */
import type { Db } from 'mongodb';

export const ADMIN_COLLECTION = 'audit_admin';

export interface AdminRecord {
  readonly at: Date;
  /** Who made the change: a principal id, `cli:<os user>`, or `config` (catalogue files). */
  readonly actor: string;
  /** The actor's role: system, officer, admin, auditor, portal, cli or config. */
  readonly role?: string;
  /** The actor's department, when it has one. */
  readonly department?: string | null;
  /** e.g. `token.create`, `application.approve`, `grant.suspend`, `catalogue.sync`. */
  readonly action: string;
  /** What was changed: an application or grant id, a system code, a credential id, a digest. */
  readonly target: string;
  /** The changed object before and after (non-personal: never tokens or subject identifiers). */
  readonly before?: unknown;
  readonly after?: unknown;
  /** Why, as the actor stated it. */
  readonly reason?: string | null;
  /** Other non-personal detail: counts, versions. */
  readonly detail?: Readonly<Record<string, unknown>>;
}

export async function appendAdmin(db: Db, record: Omit<AdminRecord, 'at'>): Promise<void> {
  await db.collection<AdminRecord>(ADMIN_COLLECTION).insertOne({ at: new Date(), ...record }, { writeConcern: { w: 'majority', journal: true } });
}

export async function lastAdmin(db: Db, action: string): Promise<AdminRecord | null> {
  return db.collection<AdminRecord>(ADMIN_COLLECTION).find({ action }, { projection: { _id: 0 } }).sort({ at: -1 }).limit(1).next();
}

/** Admin records about one target, oldest first (an object's administrative history). */
export async function adminRecordsFor(db: Db, target: string, limit = 1000): Promise<AdminRecord[]> {
  return db.collection<AdminRecord>(ADMIN_COLLECTION).find({ target }, { projection: { _id: 0 } }).sort({ at: 1 }).limit(limit).toArray();
}
