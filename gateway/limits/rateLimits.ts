/**
 * Rate limits (限流) with rate-limiter-flexible: requests per system and per token, and failed
 * authentications per client address, each a fixed window of `points` per `durationSeconds`.
 *
 * Stores:
 * - `redis` (RateLimiterRedis, one Lua script per consume): exact across instances. The one to use
 *   when several instances serve.
 * - `mongodb` (RateLimiterMongo): exact on MongoDB 6+. NOT on FerretDB 1.24: it has no TTL indexes
 *   and its findAndModify is not isolated, so concurrent increments are lost (measured: 200
 *   concurrent requests against a limit of 50 all passed). The hub warns at start-up when it sees
 *   FerretDB.
 * - `memory` (default): counts in each instance's memory; with N instances a client gets up to N ×
 *   the points.
 *
 * Every call to the store ends within `deadlineMs`. When the store fails or misses the deadline,
 * `onStoreFailure` decides: `local` (default) counts in this instance's memory until the store
 * answers again, so a limit keeps holding per instance and nothing hangs; `refuse` answers
 * RATE_LIMIT_UNAVAILABLE (503). Local is the default because the limiter protects capacity, not
 * data: grants, purposes, quotas and the audit-before-data rule do not depend on it and stay fail-
 * closed, so refusing every request because a counter cache stalled would only turn a Redis hiccup
 * into an outage of every service relying on the hub.
 */
import { Redis } from 'ioredis';
import type { MongoClient } from 'mongodb';
import type { Logger } from 'pino';
import { RateLimiterMemory, RateLimiterMongo, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Principal } from '../../policies/index.ts';
import type { RateLimitConfig, RateWindow } from '../config.ts';

export const RATE_LIMITS_COLLECTION = 'rate_limits';

export type RateLimitName = 'perSystem' | 'perToken' | 'failedAuth';

export type RateDecision =
  | { readonly ok: true }
  | { readonly ok: false; readonly limit: RateLimitName; readonly retryAfterSeconds: number; readonly points: number; readonly durationSeconds: number }
  | { readonly ok: false; readonly limit: RateLimitName; readonly unavailable: true };

interface Window {
  readonly name: RateLimitName;
  readonly window: RateWindow;
  readonly store: RateLimiterAbstract;
  /** Used while the store fails (onStoreFailure: local). */
  readonly local: RateLimiterMemory;
}

class Deadline extends Error {}

function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Deadline(`no answer within ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

const retryAfter = (res: RateLimiterRes) => Math.max(1, Math.ceil(res.msBeforeNext / 1000));

export class RateLimits {
  readonly #config: RateLimitConfig;
  readonly #logger: Logger;
  readonly #windows = new Map<RateLimitName, Window>();
  readonly #redis: Redis | undefined;
  #lastFailureLog = 0;

  constructor(config: RateLimitConfig, deps: { readonly client: MongoClient; readonly database: string; readonly logger: Logger }) {
    this.#config = config;
    this.#logger = deps.logger;
    if (config.store === 'redis' && (config.perSystem || config.perToken || config.failedAuth)) {
      this.#redis = new Redis(config.redisUrl!, {
        // Fail fast instead of queueing while disconnected; the deadline bounds the rest.
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        commandTimeout: config.deadlineMs,
        connectTimeout: Math.max(1000, config.deadlineMs),
        lazyConnect: false,
      });
      this.#redis.on('error', (error: Error) => this.#storeFailed('redis connection', error));
    }
    if (config.store === 'mongodb') void this.#prepareMongo(deps.client, deps.database);
    const windows: Array<[RateLimitName, RateWindow | undefined]> = [['perSystem', config.perSystem], ['perToken', config.perToken], ['failedAuth', config.failedAuth]];
    for (const [name, window] of windows) {
      if (!window) continue;
      const options = { keyPrefix: `${config.keyPrefix}:${name}`, points: window.points, duration: window.durationSeconds };
      const store: RateLimiterAbstract = config.store === 'redis'
        ? new RateLimiterRedis({ ...options, storeClient: this.#redis, rejectIfRedisNotReady: true })
        : config.store === 'mongodb'
          ? new RateLimiterMongo({ ...options, storeClient: deps.client, dbName: deps.database, tableName: RATE_LIMITS_COLLECTION, disableIndexesCreation: true })
          : new RateLimiterMemory(options);
      this.#windows.set(name, { name, window, store, local: new RateLimiterMemory(options) });
    }
  }

  /** Whether any per-system or per-token limit is configured. */
  get limitsRequests(): boolean {
    return this.#windows.has('perSystem') || this.#windows.has('perToken');
  }

  async #prepareMongo(client: MongoClient, database: string): Promise<void> {
    const db = client.db(database);
    try {
      const info = await db.admin().command({ buildInfo: 1 }, { signal: AbortSignal.timeout(5000) });
      if (info['ferretdbVersion'] !== undefined || info['ferretdb'] !== undefined) {
        this.#logger.warn('limits.rate.store mongodb on FerretDB: concurrent requests can be counted short (no isolated findAndModify); use store redis for exact limits across instances');
      }
      const collection = db.collection(RATE_LIMITS_COLLECTION);
      await collection.createIndex({ key: 1 }, { unique: true, name: 'key' });
      await collection.createIndex({ expire: -1 }, { expireAfterSeconds: 0, name: 'expire' }).catch(() => {
        this.#logger.warn('the server has no TTL indexes: expired rate-limit windows stay in the rate_limits collection until removed by hand');
      });
    } catch (error) {
      this.#logger.warn({ err: error }, 'rate-limit indexes could not be prepared');
    }
  }

  #storeFailed(what: string, error: unknown): void {
    const now = Date.now();
    if (now - this.#lastFailureLog < 10_000) return;
    this.#lastFailureLog = now;
    this.#logger.warn({ err: error instanceof Error ? error.message : String(error), store: this.#config.store, onStoreFailure: this.#config.onStoreFailure }, `rate-limit store failed (${what})`);
  }

  /** Consumes one point of a window: RateLimiterRes when allowed; a refusal or unavailability otherwise. */
  async #consume(w: Window, key: string): Promise<RateDecision> {
    try {
      await within(w.store.consume(key), this.#config.deadlineMs);
      return { ok: true };
    } catch (error) {
      if (error instanceof RateLimiterRes) return this.#refused(w, error);
      this.#storeFailed(`consume ${w.name}`, error);
      if (this.#config.onStoreFailure === 'refuse') return { ok: false, limit: w.name, unavailable: true };
      try {
        await w.local.consume(key);
        return { ok: true };
      } catch (local) {
        if (local instanceof RateLimiterRes) return this.#refused(w, local);
        throw local;
      }
    }
  }

  #refused(w: Window, res: RateLimiterRes): RateDecision {
    return { ok: false, limit: w.name, retryAfterSeconds: retryAfter(res), points: w.window.points, durationSeconds: w.window.durationSeconds };
  }

  /**
   * Whether a client address has spent its failed authentications (no point is consumed). Asked
   * before the token lookup, so a brute-force client costs the hub no database query.
   */
  async addressBlocked(address: string): Promise<RateDecision> {
    const w = this.#windows.get('failedAuth');
    if (!w) return { ok: true };
    let res: RateLimiterRes | null;
    try {
      res = await within(w.store.get(address), this.#config.deadlineMs);
    } catch (error) {
      this.#storeFailed('get failedAuth', error);
      if (this.#config.onStoreFailure === 'refuse') return { ok: false, limit: 'failedAuth', unavailable: true };
      res = await w.local.get(address);
    }
    return res && res.consumedPoints >= w.window.points ? this.#refused(w, res) : { ok: true };
  }

  /** Counts a failed authentication from a client address. */
  async authenticationFailed(address: string): Promise<void> {
    const w = this.#windows.get('failedAuth');
    if (w) await this.#consume(w, address);
  }

  /** Counts a request of an authenticated principal: per system (system principals) and per token. */
  async admit(principal: Principal, tokenHash: string): Promise<RateDecision> {
    const perSystem = this.#windows.get('perSystem');
    const perToken = this.#windows.get('perToken');
    const decisions = await Promise.all([
      perSystem && principal.kind === 'system' ? this.#consume(perSystem, principal.id) : { ok: true as const },
      perToken ? this.#consume(perToken, tokenHash) : { ok: true as const },
    ]);
    const refused = decisions.filter((d) => !d.ok);
    if (refused.length === 0) return { ok: true };
    const unavailable = refused.find((d) => 'unavailable' in d);
    if (unavailable) return unavailable;
    return refused.reduce((a, b) => ('retryAfterSeconds' in a && 'retryAfterSeconds' in b && b.retryAfterSeconds > a.retryAfterSeconds ? b : a));
  }

  async close(): Promise<void> {
    if (this.#redis) await this.#redis.quit().catch(() => this.#redis?.disconnect());
  }
}
