/**
 * The composition root's state: everything one hub process holds, built from a validated config.
 *
 * What can change while the hub runs (grants, catalogue resources, tokens, open correction requests) is reloaded whenever
 * the shared revision in MongoDB moves (store/revision.ts): a change made on any instance applies
 * on every instance within `sync.pollMilliseconds` plus one reload, and at once on the instance
 * that made it.
 */
import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import type { Logger } from 'pino';
import { LRUCache } from 'lru-cache';
import { AuditWriter, EvidenceLog, VerificationAttempts, adoptStoppedLogs, checkpointAdmin, fillStoredTree, isFerretDB, startAdminLog, detectTopology, type AttemptMarkDoc, ensureAuditIndexes, summaryFormOf, evidenceWriteConcern, newOrigin, noteSigner, type NoteSigner } from '../audit/index.ts';
import { createConnector, validateConnectorConfig, type Connector } from '../connectors/index.ts';
import { compilePolicy, dayIn, type CompiledPolicy, type Principal, type WorkCalendar } from '../policies/index.ts';
import {
  createRecordValidator, formatViolation, loadCatalogue, loadWorkCalendar, resourceViolations,
  type Catalogue, type Purpose, type RecordValidator, type Resource,
} from '../schema/index.ts';
import {
  bumpRevision, definitionOf, ensureApplicationIndexes, ensureConsentIndexes, ensureCorrectionIndexes, ensureDemandIndexes, GrantStore,
  loadResources, MARK_COLLECTION, OpenCorrections, QualityCounter, QuotaCounter, RevisionWatcher, SlotStore,
} from '../store/index.ts';
import type { HubConfig } from './config.ts';
import { Authenticator, ensureCredentialIndexes } from './credentials.ts';
import { hubClientOptions, requestedReadPreference } from './mongo/client.ts';
import { CIRCUIT_STATE, HubMetrics } from './observability/metrics.ts';
import { createTracing, type HubTracing } from './observability/tracing.ts';
import { syncCatalogue } from './state.ts';

/** The catalogue as served right now: the files' registry plus the resources held in MongoDB. */
export interface CatalogueState {
  readonly catalogue: Catalogue;
  readonly resources: ReadonlyMap<string, Resource>;
  readonly purposes: ReadonlyMap<string, Purpose>;
  readonly departments: ReadonlyMap<string, string>;
  readonly validators: ReadonlyMap<string, RecordValidator>;
  /** code@version of every resource: changes when any resource does. */
  readonly fingerprint: string;
}

export interface HubRuntime {
  readonly config: HubConfig;
  readonly logger: Logger;
  readonly client: MongoClient;
  readonly db: Db;
  /** Current catalogue state (replaced as a whole when it changes; never mutated). */
  readonly state: CatalogueState;
  readonly catalogue: Catalogue;
  readonly resources: ReadonlyMap<string, Resource>;
  readonly purposes: ReadonlyMap<string, Purpose>;
  readonly departments: ReadonlyMap<string, string>;
  readonly validators: ReadonlyMap<string, RecordValidator>;
  readonly connectors: ReadonlyMap<string, Connector>;
  readonly grants: GrantStore;
  readonly audit: AuditWriter;
  readonly authenticator: Authenticator;
  /** Prometheus metrics of this hub (its own registry), served at `GET /metrics`. */
  readonly metrics: HubMetrics;
  /** OpenTelemetry tracer (a no-op one unless `tracing.enabled`). */
  readonly tracing: HubTracing;
  readonly quotas: QuotaCounter;
  /** Verification attempts, counted by their records (audit/attempts.ts). */
  readonly attempts: VerificationAttempts;
  /** Data-quality counts of this process, written every `quality.flushSeconds` (no write per request). */
  readonly quality: QualityCounter;
  /** Open correction requests (数据纠错), in memory: what responses flag as disputed. */
  readonly corrections: OpenCorrections;
  /** Working days for application deadlines. */
  readonly calendar: WorkCalendar;
  /** HMAC key of subject hashes, imported once. */
  readonly subjectKey: KeyObject;
  /** Signs this process's checkpoints; `signer.verifierKey` is what outsiders verify with. */
  readonly signer: NoteSigner;
  /** Today's date in the deployment's time zone (YYYY-MM-DD). */
  today(now?: Date): string;
  /** Compiled CASL policy for (system, purpose), cached until grants or the catalogue change or the day turns. */
  policyFor(principal: Principal, purpose: Purpose, today: string): CompiledPolicy;
  /** Signals a change to every instance and applies it on this one before resolving. */
  changed(what: string): Promise<void>;
  /** Reloads grants, resources and token state from MongoDB. */
  reload(): Promise<void>;
  /**
   * Re-reads the catalogue files (SIGHUP, admin `reloadCatalogue`): validates them (on error the
   * running catalogue stays), creates the new connectors, serves with them from then on, and closes
   * the old ones once the calls they may still have in flight are over (`limits.upstreamDeadlineMs`).
   */
  reloadCatalogue(): Promise<{ readonly connectors: number; readonly resources: number }>;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  readonly config: HubConfig;
  readonly logger: Logger;
  readonly subjectKey: Buffer;
  /**
   * Ed25519 key text that signs checkpoints (`audit.signingKey`). Without one, an ephemeral key is
   * made and a warning logged: its checkpoints cannot be verified after this process ends.
   */
  readonly signingKey?: string;
  /** Loaded catalogue, when the caller already validated it. */
  readonly catalogue?: Catalogue;
  /** Environment connectors read `uriEnv` / `bearerTokenEnv` from (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

export async function loadHubCatalogue(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<Catalogue> {
  return loadCatalogue(dir, { validateConnector: validateConnectorConfig, env });
}

/**
 * Builds the served catalogue from the files' registry and the stored resources. A stored resource
 * that no longer fits (its connector or provider was removed from the files) is left out and
 * reported, never served half-checked.
 */
export function catalogueState(files: Catalogue, stored: ReadonlyArray<Resource & { version?: number }>, logger: Logger): CatalogueState {
  const resources: Resource[] = [];
  const all = stored.map(definitionOf);
  for (const r of all) {
    const problems = resourceViolations(r, `resource ${r.code}`, { ...files, resources: all });
    if (problems.length > 0) {
      logger.error({ resource: r.code, problems: problems.map(formatViolation) }, 'stored catalogue resource is invalid; not served');
      continue;
    }
    resources.push(r);
  }
  const catalogue: Catalogue = { ...files, resources };
  return {
    catalogue,
    resources: new Map(resources.map((r) => [r.code, r])),
    purposes: new Map(files.purposes.map((p) => [p.code, p])),
    departments: new Map(files.departments.map((d) => [d.code, d.name])),
    validators: new Map(resources.map((r) => [r.code, createRecordValidator(r)])),
    fingerprint: stored.map((r) => `${r.code}@${r.version ?? 0}`).join(','),
  };
}

export async function createRuntime(options: RuntimeOptions): Promise<HubRuntime> {
  const { config, logger, subjectKey } = options;
  let files = options.catalogue ?? (await loadHubCatalogue(config.catalogue, options.env));
  const calendar = await loadWorkCalendar(config.applications.calendar);
  const client = new MongoClient(config.mongodb.uri, hubClientOptions(config.mongodb, {
    appName: 'yiwang-hub',
    // A stalled server must not hold connections forever: requests fail at their own deadlines
    // (audit.deadlineMs), and sockets give up after this, so the pool recovers by itself.
    socketTimeoutMs: Math.max(10_000, config.audit.deadlineMs * 5),
    waitQueueTimeoutMS: config.audit.deadlineMs,
  }));
  const readPreference = requestedReadPreference(config.mongodb.uri);
  if (readPreference !== undefined) {
    logger.warn({ readPreference }, 'mongodb.uri asks for another read preference: the hub reads from the primary regardless (grants, tokens and counters are read where they were written)');
  }
  await client.connect();
  let connectors = new Map<string, Connector>();
  /** The audit trail's timed work (admin checkpoints, adoption, the stored tree), stopped at close. */
  const chores: Chore[] = [];
  /** Connectors replaced by a catalogue reload, closed once their in-flight calls are over. */
  const retired = new Map<Map<string, Connector>, NodeJS.Timeout>();
  const closeAll = (set: Map<string, Connector>) => Promise.allSettled([...set.values()].map((c) => c.close()));
  try {
    const db = client.db(config.mongodb.database);
    // Read at scrape time only, once the runtime is built.
    const metrics = new HubMetrics({
      auditQueueDepth: () => audit.queueDepth,
      grantsRefreshedAt: () => grants.refreshedAt,
      tokenCacheClearedAt: () => authenticator.clearedAt,
      tokenCacheEntries: () => authenticator.cacheSize,
    }, { scrapeToken: (options.env ?? process.env)[config.metrics.tokenEnv] });
    if (config.metrics.enabled && !metrics.scrapeConfigured) {
      logger.warn({ tokenEnv: config.metrics.tokenEnv }, 'metrics are enabled but no scrape token is set (16+ characters): GET /metrics refuses every scrape');
    }
    const today = (now?: Date) => dayIn(config.timeZone, now);
    const year = Number(today().slice(0, 4));
    if (!calendar.years.includes(year)) {
      logger.warn({ calendar: config.applications.calendar, year }, 'the working-day calendar does not cover this year: deadlines count weekdays only; add the year\'s holiday arrangement');
    }
    // Before anything writes an administrative record: those an older hub wrote before the
    // administrative log began are fixed by its first record, once (audit/admin.ts).
    const fixed = await startAdminLog(db);
    if (fixed > 0) logger.info({ records: fixed }, 'the administrative log begins with the digest of the administrative records written before it');
    await syncCatalogue(db, files);
    await ensureAuditIndexes(db);
    await ensureCredentialIndexes(db);
    await ensureApplicationIndexes(db);
    await ensureConsentIndexes(db);
    await ensureDemandIndexes(db);
    await ensureCorrectionIndexes(db);
    const slots = new SlotStore(db, { deadlineMs: config.audit.deadlineMs });
    await slots.ensureIndexes();
    const quotas = new QuotaCounter(slots, {
      onReserve: (grant, granted, asked) => {
        if (granted > 0) metrics.quotaUnits.inc({ grant, result: 'granted' }, granted);
        if (asked > granted) metrics.quotaUnits.inc({ grant, result: 'refused' }, asked - granted);
      },
    });
    const grants = new GrantStore(db);
    await grants.refresh();
    const corrections = new OpenCorrections(db);
    await corrections.refresh();
    let state = catalogueState(files, await loadResources(db), logger);

    const connectorsOf = (c: Catalogue) => {
      const made = new Map<string, Connector>();
      try {
        for (const entry of c.connectors) {
          made.set(entry.name, createConnector(entry.name, entry.config, {
            baseDir: config.catalogue,
            env: options.env ?? process.env,
            onEvent: (e) => {
              if (e.event === 'retry') metrics.upstreamRetries.inc({ connector: e.connector });
              else metrics.circuitState.set({ connector: e.connector }, CIRCUIT_STATE[e.event === 'circuit-open' ? 'open' : e.event === 'circuit-half-open' ? 'half-open' : 'closed']);
              logger[e.event === 'circuit-open' ? 'warn' : 'info'](e, `connector ${e.event}`);
            },
            onCall: (call) => {
              metrics.upstreamDuration.observe({ connector: call.connector, outcome: call.outcome }, call.durationMs / 1000);
              if (call.outcome !== 'ok' && call.outcome !== 'cancelled') metrics.upstreamErrors.inc({ connector: call.connector, outcome: call.outcome });
            },
            onCombined: (connector, reads) => {
              metrics.upstreamCombinedCalls.inc({ connector });
              metrics.upstreamCombined.inc({ connector }, reads);
            },
          }));
          metrics.circuitState.set({ connector: entry.name }, CIRCUIT_STATE.closed);
        }
      } catch (error) {
        void closeAll(made);
        throw error;
      }
      return made;
    };
    connectors = connectorsOf(files);
    let keyText = options.signingKey;
    if (!keyText) {
      keyText = randomBytes(32).toString('hex');
      logger.warn('no audit.signingKey: checkpoints are signed with an ephemeral key that ends with this process; configure one (`hub key create --signing`)');
    }
    const signer = noteSigner(config.audit.keyName, keyText);
    const log = new EvidenceLog(db, {
      origin: newOrigin(config.audit.keyName),
      signer,
      checkpointRecords: config.audit.checkpointRecords,
      checkpointSeconds: config.audit.checkpointSeconds,
      onError: (error) => logger.error({ err: error }, 'checkpoint could not be written; the next one covers these records'),
    });
    await log.register();
    // The administrative log is signed by every hub on the access logs' timer, whoever wrote it (a
    // `hub` command without the key included); several hubs store one checkpoint of a size.
    const signAdmin = chore(chores, config.audit.checkpointSeconds, () => checkpointAdmin(db, signer),
      (error) => logger.error({ err: error }, 'administrative checkpoint could not be written; the next one covers these records'));
    // The logs of hubs that stopped without closing them (killed, crashed): their unsigned tails are
    // signed by this hub once they have been silent for audit.adoptAfterSeconds (audit/adopt.ts).
    const adopt = async () => {
      for (const a of await adoptStoppedLogs(db, { own: log.origin, signer, idleMs: config.audit.adoptAfterSeconds * 1000 })) {
        if (a.size === null) logger.warn({ log: a.log, problem: a.problem }, 'the log of a stopped hub is not signed: it does not verify (hub audit verify says where)');
        else logger.info({ log: a.log, size: a.size }, 'the log of a stopped hub is signed up to its durable end');
      }
    };
    chore(chores, Math.min(60, config.audit.adoptAfterSeconds / 2), adopt,
      (error) => logger.error({ err: error }, 'the logs of stopped hubs could not be looked at; the next round tries again'));
    // The stored tree of this hub's own log, kept up with its records off the request path, so that
    // an auditor's proof does not read the log first (audit/tree.ts).
    chore(chores, config.audit.treeFillSeconds ?? ((await isFerretDB(db)) ? 0 : 60), () => fillStoredTree(db, log.origin),
      (error) => logger.warn({ err: error }, 'the stored tree of this hub\'s log could not be filled; the next round, or the next proof, does it'));
    // Counted per process (the log's origin names it), written only by it.
    const quality = new QualityCounter(db, {
      process: log.origin,
      onError: (error) => logger.warn({ err: error }, 'data-quality counts could not be written; the next flush writes them'),
    });
    await quality.ensureIndexes();
    const topology = await detectTopology(db, config.mongodb.timeoutMs);
    const writeConcern = evidenceWriteConcern(config.audit.writeConcern, topology);
    logger.info({ topology, writeConcern }, 'access evidence is written with this write concern');
    if (topology !== 'standalone' && writeConcern.w === 1) {
      logger.warn({ topology }, 'audit.writeConcern 1 on a replica set: evidence acknowledged by the primary alone can be rolled back by a failover; use auto or majority');
    }
    const audit = new AuditWriter(db, {
      log,
      // Summaries as FerretDB stores them cheapest, as MongoDB's index and pipelines read them otherwise.
      summaries: await summaryFormOf(db),
      maxBatch: config.audit.maxBatch,
      maxInFlight: config.audit.maxInFlight,
      lingerMs: config.audit.lingerMs,
      writeConcern,
      onError: (error, size) => {
        metrics.auditFailures.inc();
        logger.error({ err: error, records: size }, 'audit write failed; the affected requests get no data');
      },
      onCommit: (blocks, ms) => {
        let records = 0;
        for (const size of blocks) {
          metrics.auditBlockRecords.observe(size);
          records += size;
        }
        metrics.auditRecordsWritten.inc(records);
        metrics.auditCommitDuration.observe(ms / 1000);
      },
      deadlineMs: config.audit.deadlineMs,
    });
    const attempts = new VerificationAttempts(audit, db.collection<AttemptMarkDoc>(MARK_COLLECTION));
    const authenticator = new Authenticator(db, { cacheTtlMs: config.auth.cacheSeconds * 1000, deadlineMs: config.audit.deadlineMs });
    const policies = new LRUCache<string, CompiledPolicy>({ max: 10_000 });
    let generation = 0;

    let reloading: Promise<void> | undefined;
    const reloadOnce = async () => {
      await grants.refresh();
      await corrections.refresh();
      const stored = await loadResources(db);
      const fingerprint = stored.map((r) => `${r.code}@${r.version}`).join(',');
      if (fingerprint !== state.fingerprint) {
        state = catalogueState(files, stored, logger);
        generation++;
        logger.info({ resources: state.resources.size }, 'catalogue reloaded');
      }
      authenticator.clear();
    };
    // Reloads never overlap; a reload asked for during one runs after it (it may miss the change otherwise).
    const reload = async (): Promise<void> => {
      while (reloading) await reloading.catch(() => undefined);
      reloading = reloadOnce().finally(() => { reloading = undefined; });
      return reloading;
    };
    const watcher = new RevisionWatcher(db, {
      intervalMs: config.sync.pollMilliseconds,
      onChange: reload,
      onError: (error) => logger.warn({ err: error }, 'change check failed; keeping the last known grants and catalogue'),
    });
    await watcher.prime();
    watcher.start();
    const safetyNet = setInterval(() => void reload().catch((error: unknown) => logger.warn({ err: error }, 'periodic reload failed')), config.grants.refreshSeconds * 1000);
    safetyNet.unref();

    quality.start(config.quality.flushSeconds * 1000);
    let reloadingFiles: Promise<unknown> = Promise.resolve();
    const tracing = await createTracing(config.tracing);
    const runtime: HubRuntime = {
      config,
      logger,
      client,
      db,
      get state() { return state; },
      get catalogue() { return state.catalogue; },
      get resources() { return state.resources; },
      get purposes() { return state.purposes; },
      get departments() { return state.departments; },
      get validators() { return state.validators; },
      get connectors() { return connectors; },
      grants,
      audit,
      authenticator,
      metrics,
      tracing,
      quotas,
      attempts,
      quality,
      corrections,
      calendar,
      subjectKey: createSecretKey(subjectKey),
      signer,
      today,
      policyFor(principal, purpose, day) {
        const key = `${grants.version}|${generation}|${day}|${principal.department}|${principal.id}|${purpose.code}`;
        let policy = policies.get(key);
        if (!policy) {
          policy = compilePolicy(principal, purpose, state.catalogue.resources, grants.forDepartment(principal.department), day);
          policies.set(key, policy);
        }
        return policy;
      },
      async changed(what) {
        await bumpRevision(db, what);
        await reload();
      },
      reload,
      reloadCatalogue() {
        const run = reloadingFiles.catch(() => undefined).then(async () => {
          const next = await loadHubCatalogue(config.catalogue, options.env);
          const made = connectorsOf(next);
          try {
            await syncCatalogue(db, next);
          } catch (error) {
            void closeAll(made);
            throw error;
          }
          const old = connectors;
          files = next;
          connectors = made;
          state = catalogueState(files, await loadResources(db), logger);
          generation++;
          // Every department call ends within upstreamDeadlineMs of its request's start: then the old ones are idle.
          retired.set(old, setTimeout(() => { retired.delete(old); void closeAll(old); }, config.limits.upstreamDeadlineMs + 1000));
          await runtime.changed('catalogue files reloaded').catch((error: unknown) => logger.warn({ err: error }, 'could not signal the catalogue reload to other instances'));
          logger.info({ connectors: made.size, resources: state.resources.size }, 'catalogue files reloaded');
          return { connectors: made.size, resources: state.resources.size };
        });
        reloadingFiles = run;
        return run;
      },
      async close() {
        watcher.stop();
        clearInterval(safetyNet);
        await quality.close().catch((error: unknown) => logger.warn({ err: error }, 'data-quality counts could not be written at shutdown'));
        await audit.close();
        for (const c of chores) await c.stop();
        // What this hub's last changes added to the administrative log, signed.
        await signAdmin.run();
        await tracing.close().catch((error: unknown) => logger.warn({ err: error }, 'spans could not be sent at shutdown'));
        for (const [old, timer] of retired) {
          clearTimeout(timer);
          await closeAll(old);
        }
        await closeAll(connectors);
        await client.close();
      },
    };
    return runtime;
  } catch (error) {
    await Promise.allSettled(chores.map((c) => c.stop()));
    await Promise.allSettled([...connectors.values()].map((c) => c.close()));
    await client.close();
    throw error;
  }
}

/** Work repeated on a timer, one run at a time (a tick while it runs joins it). */
interface Chore {
  /** Runs it now, or joins the run under way. Never rejects: failures go to its `onError`. */
  run(): Promise<void>;
  /** Clears the timer and waits for the run under way. */
  stop(): Promise<void>;
}

/** A chore every `seconds` (none when 0), added to `chores`; its timer does not keep the process alive. */
function chore(chores: Chore[], seconds: number, work: () => Promise<unknown>, onError: (error: unknown) => void): Chore {
  let running: Promise<void> | undefined;
  const run = () => (running ??= work().then(() => undefined, onError).finally(() => {
    running = undefined;
  }));
  const timer = seconds > 0 ? setInterval(() => void run(), seconds * 1000) : undefined;
  timer?.unref();
  const made: Chore = {
    run,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
  chores.push(made);
  return made;
}
