/**
 * Benchmark settings, from the environment. Every load run is bounded in time (seconds) and in
 * count (maxRequests); BENCH_QUICK=1 shrinks everything to a ~1-minute smoke run.
 *
 *   BENCH_QUICK=1              smoke run: 1 round, short runs, no profile
 *   BENCH_SECONDS=4            seconds per measured load run
 *   BENCH_WARMUP_SECONDS=1     seconds of warm-up per server × scenario before the rounds (quick: 0)
 *   BENCH_ROUNDS=3             rounds (each round runs every server on every scenario, order rotated)
 *   BENCH_CONNECTIONS=16       concurrent connections of the load generator
 *   BENCH_MAX_REQUESTS=200000  hard cap of requests per load run
 *   BENCH_AUDIT_SECONDS=3      seconds per audit-writer batch size
 *   BENCH_DECOMPOSE=1          also measure (c′), the hub with audit writes discarded (diagnostic;
 *                              default on, off in quick mode)
 *   BENCH_SCALING=1            measure 1 vs 2 hub processes (0 to skip)
 *   BENCH_HUB_AUDIT_BATCH=n    what-if: the hub's audit.maxBatch (default: the hub's default)
 *   BENCH_HUB_AUDIT_IN_FLIGHT=n  what-if: the hub's audit.maxInFlight
 *   BENCH_HUB_AUDIT_LINGER=ms  what-if: the hub's audit.lingerMs
 *   BENCH_HUB_TRUSTED=enforce  what-if: trusted documents enforced, the scenarios' operations
 *                              registered for every system (default off, the hub's default)
 *   BENCH_HUB_NODE_FLAGS='--max-semi-space-size=32'  what-if: Node/V8 flags of the hub's process
 *   BENCH_HUB_COLLAPSE=0       what-if: the hub's connectors with `collapse: false` (one department call per request)
 *   BENCH_PLAIN_COLLAPSE=1     what-if: (a) and (b) share department calls among requests as the hub does
 *   BENCH_PROFILE=1            CPU-profile (b) and (c) under load (default on, off in quick mode)
 *   BENCH_PROFILE_SECONDS=4    seconds per profiled run
 *   BENCH_PROFILE_SCENARIOS=one,batch  the scenarios profiled (any of one, batch, verify, denied)
 *   BENCH_PROFILE_SAVE=1       also write the .cpuprofile files to bench/results/profiles/
 *   BENCH_OUT=path             where to write the JSON (default bench/results/latest.json)
 */
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface BenchConfig {
  readonly quick: boolean;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly rounds: number;
  readonly connections: number;
  readonly maxRequests: number;
  readonly auditSeconds: number;
  readonly decompose: boolean;
  readonly scaling: boolean;
  readonly profile: boolean;
  readonly profileSeconds: number;
  readonly profileSave: boolean;
  /** The scenarios profiled, by id. */
  readonly profileScenarios: readonly ScenarioId[];
  readonly out: string;
  /** What-if overrides of the hub's audit writer settings (empty = hub defaults). */
  readonly hubAudit: { readonly maxBatch?: number; readonly maxInFlight?: number; readonly lingerMs?: number };
  /** What-if: the hub's trustedDocuments.mode (the scenarios' operations registered for every system). */
  readonly hubTrusted: 'off' | 'enforce';
  /** What-if: Node/V8 flags of the hub's process (each `--name` or `--name=value`). */
  readonly hubNodeFlags: readonly string[];
  /** Whether the hub's connectors share calls among concurrent requests (its default; BENCH_HUB_COLLAPSE=0: what-if off). */
  readonly hubCollapse: boolean;
  /** Whether (a) and (b) share calls too (default off: a plain gateway batches within a request only). */
  readonly plainCollapse: boolean;
}

/** The ids of the scenarios (`scenarios.ts`). */
export const SCENARIO_IDS = ['one', 'batch', 'verify', 'denied'] as const;
type ScenarioId = (typeof SCENARIO_IDS)[number];

function profileScenarios(raw: string | undefined): ScenarioId[] {
  const ids = (raw ?? '').split(',').map((id) => id.trim()).filter(Boolean);
  if (ids.length === 0) return ['one', 'batch'];
  const bad = ids.find((id) => !(SCENARIO_IDS as readonly string[]).includes(id));
  if (bad !== undefined) throw new Error(`BENCH_PROFILE_SCENARIOS: "${bad}" is not a scenario (${SCENARIO_IDS.join(', ')})`);
  return [...new Set(ids)] as ScenarioId[];
}

function number(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${name} must be a number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function flag(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  return !['0', 'false', 'no', 'off'].includes(raw.trim().toLowerCase());
}

function trustedMode(raw: string | undefined): BenchConfig['hubTrusted'] {
  const value = raw?.trim().toLowerCase() || 'off';
  if (value !== 'off' && value !== 'enforce') throw new Error(`BENCH_HUB_TRUSTED must be off or enforce, got "${raw}"`);
  return value;
}

function nodeFlags(raw: string | undefined): string[] {
  const flags = (raw ?? '').split(/\s+/).filter(Boolean);
  const bad = flags.find((f) => !/^--[a-z0-9][a-z0-9_-]*(=[A-Za-z0-9_.,:-]+)?$/.test(f));
  if (bad !== undefined) throw new Error(`BENCH_HUB_NODE_FLAGS: "${bad}" is not a flag of the form --name or --name=value`);
  return flags;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const quick = flag(env, 'BENCH_QUICK', false);
  return {
    quick,
    seconds: number(env, 'BENCH_SECONDS', quick ? 1.5 : 4, 0.5, 120),
    warmupSeconds: number(env, 'BENCH_WARMUP_SECONDS', quick ? 0 : 1, 0, 60),
    rounds: Math.round(number(env, 'BENCH_ROUNDS', quick ? 1 : 3, 1, 20)),
    connections: Math.round(number(env, 'BENCH_CONNECTIONS', 16, 1, 512)),
    maxRequests: Math.round(number(env, 'BENCH_MAX_REQUESTS', 200_000, 100, 10_000_000)),
    auditSeconds: number(env, 'BENCH_AUDIT_SECONDS', quick ? 1 : 3, 0.2, 60),
    decompose: flag(env, 'BENCH_DECOMPOSE', !quick),
    scaling: flag(env, 'BENCH_SCALING', true),
    profile: flag(env, 'BENCH_PROFILE', !quick),
    profileSeconds: number(env, 'BENCH_PROFILE_SECONDS', quick ? 1.5 : 4, 0.5, 60),
    profileSave: flag(env, 'BENCH_PROFILE_SAVE', false),
    profileScenarios: profileScenarios(env['BENCH_PROFILE_SCENARIOS']),
    out: env['BENCH_OUT']?.trim() || fileURLToPath(new URL('./results/latest.json', import.meta.url)),
    hubAudit: {
      ...(env['BENCH_HUB_AUDIT_BATCH'] ? { maxBatch: Math.round(number(env, 'BENCH_HUB_AUDIT_BATCH', 1024, 1, 100_000)) } : {}),
      ...(env['BENCH_HUB_AUDIT_IN_FLIGHT'] ? { maxInFlight: Math.round(number(env, 'BENCH_HUB_AUDIT_IN_FLIGHT', 2, 1, 64)) } : {}),
      ...(env['BENCH_HUB_AUDIT_LINGER'] ? { lingerMs: number(env, 'BENCH_HUB_AUDIT_LINGER', 0, 0, 50) } : {}),
    },
    hubTrusted: trustedMode(env['BENCH_HUB_TRUSTED']),
    hubNodeFlags: nodeFlags(env['BENCH_HUB_NODE_FLAGS']),
    hubCollapse: flag(env, 'BENCH_HUB_COLLAPSE', true),
    plainCollapse: flag(env, 'BENCH_PLAIN_COLLAPSE', false),
  };
}

/** readConfig for a command: a bad setting is one line naming it, and exit status 2 (no stack trace). */
export function readConfigOrExit(env: NodeJS.ProcessEnv = process.env): BenchConfig {
  try {
    return readConfig(env);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(2);
  }
}
