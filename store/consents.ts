/**
 * Separate consents (单独同意) recorded by the citizen portal: the only module that reads or writes
 * `consents`. The data subject is stored only as the keyed hash of the ID number.
 */
import type { Collection, Db } from 'mongodb';
import type { Consent } from '../schema/index.ts';
import { DURABLE, withoutId } from './versioned.ts';

export const CONSENTS = 'consents';

const consentsOf = (db: Db): Collection<Consent> => db.collection<Consent>(CONSENTS);

export async function ensureConsentIndexes(db: Db): Promise<void> {
  await consentsOf(db).createIndex({ id: 1 }, { unique: true, name: 'id' });
  await consentsOf(db).createIndex({ subject: 1 }, { name: 'subject' });
}

export async function insertConsent(db: Db, consent: Consent): Promise<void> {
  await consentsOf(db).insertOne({ ...consent }, DURABLE);
}

export async function getConsent(db: Db, id: string, timeoutMs?: number): Promise<Consent | null> {
  return consentsOf(db).findOne({ id }, { projection: { _id: 0 }, ...(timeoutMs ? { maxTimeMS: timeoutMs, signal: AbortSignal.timeout(timeoutMs) } : {}) });
}

/** Withdraws a consent in force; null when it does not exist or was already withdrawn. */
export async function withdrawConsent(db: Db, id: string, reason: string): Promise<Consent | null> {
  const doc = await consentsOf(db).findOneAndUpdate(
    { id, withdrawnAt: null },
    { $set: { withdrawnAt: new Date(), withdrawnReason: reason } },
    { returnDocument: 'after', ...DURABLE },
  );
  return doc ? (withoutId(doc) as Consent) : null;
}

export async function consentsOfSubject(db: Db, subject: string): Promise<Consent[]> {
  return consentsOf(db).find({ subject }, { projection: { _id: 0 } }).sort({ recordedAt: -1 }).limit(1000).toArray();
}
