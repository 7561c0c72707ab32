/**
 * Administrative evidence (管理留痕): who changed the hub's registry, credentials or grants, when and
 * why. Kept apart from access evidence (X-Road style); written before the change is reported done.
 */
import type { Db } from 'mongodb';

export const ADMIN_COLLECTION = 'audit_admin';

export interface AdminRecord {
  readonly at: Date;
  /** Who made the change: `cli:<os user>`, `config` (catalogue files), later officer ids. */
  readonly actor: string;
  /** e.g. `token.create`, `token.revoke`, `catalogue.sync`. */
  readonly action: string;
  /** What was changed: a system code, a credential id, a catalogue digest. */
  readonly target: string;
  /** Non-personal detail: counts, versions, reasons. Never secrets or subject identifiers. */
  readonly detail: Readonly<Record<string, unknown>>;
}

export async function appendAdmin(db: Db, record: Omit<AdminRecord, 'at'>): Promise<void> {
  await db.collection<AdminRecord>(ADMIN_COLLECTION).insertOne({ at: new Date(), ...record }, { writeConcern: { w: 'majority', journal: true } });
}

export async function lastAdmin(db: Db, action: string): Promise<AdminRecord | null> {
  return db.collection<AdminRecord>(ADMIN_COLLECTION).find({ action }, { projection: { _id: 0 } }).sort({ at: -1 }).limit(1).next();
}
