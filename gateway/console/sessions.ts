/**
 * Console sessions (MongoDB collection `console_sessions`): a person logs in to the console with
 * their role's token once; the browser then holds only a random session id in an HttpOnly cookie.
 *
 * Stored per session: the SHA-256 of the session id (never the id), the principal, the SHA-256 of
 * the token it was opened with (so revoking the token, or its expiry, ends the session at once), a CSRF token, and
 * its times. A session ends after `idleMinutes` without a request or `absoluteHours` after log-in,
 * whichever comes first.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import type { Principal } from '../../policies/index.ts';
import { credentialActive, CREDENTIALS_COLLECTION, type CredentialDoc } from '../credentials.ts';

export const SESSIONS_COLLECTION = 'console_sessions';

export interface SessionOptions {
  /** Minutes without a request after which a session ends (default 30). */
  readonly idleMinutes: number;
  /** Hours after log-in after which a session ends whatever its use (default 8). */
  readonly absoluteHours: number;
  /** Database deadline of one session look-up (default 2000 ms). */
  readonly deadlineMs: number;
}

export const DEFAULT_SESSION_OPTIONS: SessionOptions = { idleMinutes: 30, absoluteHours: 8, deadlineMs: 2000 };

interface SessionDoc {
  /** SHA-256 (hex) of the session id. */
  _id: string;
  principal: { kind: Principal['kind']; id: string; department: string };
  /** SHA-256 (hex) of the token the session was opened with. */
  tokenHash: string;
  csrf: string;
  createdAt: Date;
  lastSeenAt: Date;
  /** The absolute end; a TTL index removes the document after it. */
  expiresAt: Date;
}

export interface Session {
  readonly principal: Principal;
  /** SHA-256 of the token the session was opened with: the credential key for rate limits and logs. */
  readonly tokenHash: string;
  readonly csrf: string;
  readonly expiresAt: Date;
  readonly idleUntil: Date;
}

/** Session ids are 256 random bits; only their hash is stored. */
const hashId = (id: string) => hash('sha256', id, 'hex');

/** Whether a presented value equals the expected secret, in constant time. */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Well-formed session ids only (base64url of 32 bytes): anything else is not looked up. */
export const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

export class SessionStore {
  readonly #sessions: Collection<SessionDoc>;
  readonly #credentials: Collection<CredentialDoc>;
  readonly #options: SessionOptions;
  #indexes: Promise<void> | undefined;

  constructor(db: Db, options: Partial<SessionOptions> = {}) {
    this.#sessions = db.collection<SessionDoc>(SESSIONS_COLLECTION);
    this.#credentials = db.collection<CredentialDoc>(CREDENTIALS_COLLECTION);
    this.#options = { ...DEFAULT_SESSION_OPTIONS, ...options };
  }

  get options(): SessionOptions {
    return this.#options;
  }

  #ensureIndexes(): Promise<void> {
    // Expired sessions are refused by `find` whatever happens here; the TTL index only tidies up.
    return (this.#indexes ??= this.#sessions.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0, name: 'expiresAt' }).then(() => undefined, () => undefined));
  }

  /** Opens a session for a principal authenticated with a token (given by its hash). */
  async open(principal: Principal, tokenHash: string, now = new Date()): Promise<{ id: string; session: Session }> {
    await this.#ensureIndexes();
    const id = randomBytes(32).toString('base64url');
    const doc: SessionDoc = {
      _id: hashId(id),
      principal: { kind: principal.kind, id: principal.id, department: principal.department },
      tokenHash,
      csrf: randomBytes(32).toString('base64url'),
      createdAt: now,
      lastSeenAt: now,
      expiresAt: new Date(now.getTime() + this.#options.absoluteHours * 3_600_000),
    };
    await this.#sessions.insertOne(doc, { timeoutMS: this.#options.deadlineMs });
    return { id, session: this.#session(doc) };
  }

  /**
   * The live session of an id, or null when unknown, expired (idle or absolute) or when its token
   * was revoked (then the session is removed). Marks the session used (at most once a minute).
   */
  async find(id: string, now = new Date()): Promise<Session | null> {
    if (!SESSION_ID.test(id)) return null;
    const signal = AbortSignal.timeout(this.#options.deadlineMs);
    const doc = await this.#sessions.findOne({ _id: hashId(id) }, { signal });
    if (!doc) return null;
    const idleMs = this.#options.idleMinutes * 60_000;
    if (doc.expiresAt.getTime() <= now.getTime() || doc.lastSeenAt.getTime() + idleMs <= now.getTime()) {
      await this.#sessions.deleteOne({ _id: doc._id }, { timeoutMS: this.#options.deadlineMs });
      return null;
    }
    const credential = await this.#credentials.findOne({ tokenHash: doc.tokenHash }, { projection: { _id: 0, revokedAt: 1, expiresAt: 1 }, signal });
    if (!credential || !credentialActive(credential, now.getTime())) {
      await this.#sessions.deleteOne({ _id: doc._id }, { timeoutMS: this.#options.deadlineMs });
      return null;
    }
    if (now.getTime() - doc.lastSeenAt.getTime() >= 60_000) {
      doc.lastSeenAt = now;
      await this.#sessions.updateOne({ _id: doc._id }, { $set: { lastSeenAt: now } }, { timeoutMS: this.#options.deadlineMs });
    }
    return this.#session(doc);
  }

  /** Ends a session (log-out). */
  async close(id: string): Promise<void> {
    if (!SESSION_ID.test(id)) return;
    await this.#sessions.deleteOne({ _id: hashId(id) }, { timeoutMS: this.#options.deadlineMs });
  }

  #session(doc: SessionDoc): Session {
    const idleUntil = new Date(Math.min(doc.lastSeenAt.getTime() + this.#options.idleMinutes * 60_000, doc.expiresAt.getTime()));
    return { principal: { ...doc.principal }, tokenHash: doc.tokenHash, csrf: doc.csrf, expiresAt: doc.expiresAt, idleUntil };
  }
}
