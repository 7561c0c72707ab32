/**
 * CPU profiling of a server process from inside (node:inspector), so one process can be profiled
 * per scenario, and a summary of where the time goes: top functions by self time, project
 * functions by inclusive time, and self time per package / project folder.
 */
import { Session } from 'node:inspector/promises';
import { fileURLToPath } from 'node:url';
import { ROOT } from '../config.ts';

export interface ProfileEntry {
  readonly function: string;
  readonly location: string;
  readonly ms: number;
  /** Share of the busy (non-idle) time, percent. */
  readonly percent: number;
}

export interface ProfileSummary {
  readonly durationMs: number;
  /** Share of wall time the process was not idle, percent. */
  readonly busyPercent: number;
  readonly topSelf: readonly ProfileEntry[];
  /** Hub functions (gateway/, policies/, audit/, schema/, connectors/) by inclusive time. */
  readonly topInclusive: readonly ProfileEntry[];
  readonly byCategory: ReadonlyArray<{ readonly category: string; readonly ms: number; readonly percent: number }>;
  /** The raw profile (only when asked to keep it). */
  readonly raw?: unknown;
}

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

const TOP = 15;
const HUB_FOLDERS = ['gateway/', 'policies/', 'audit/', 'schema/', 'connectors/'];

function relativePath(url: string): string {
  if (!url.startsWith('file://')) return url;
  const path = fileURLToPath(url);
  return path.startsWith(ROOT) ? path.slice(ROOT.length) : path;
}

function category(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/').slice(0, 2).join('/')}`;
  const path = relativePath(url);
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = path.slice(nm + 'node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (path.startsWith('/')) return 'other';
  return `hub:${path.split('/')[0]}`;
}

function keyOf(frame: CallFrame): string {
  return `${frame.functionName || '(anonymous)'}\u0000${relativePath(frame.url)}:${frame.lineNumber + 1}`;
}

function entries(map: Map<string, number>, busy: number, limit: number): ProfileEntry[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([key, us]) => {
      const [fn, location] = key.split('\u0000');
      return { function: fn!, location: location!, ms: round(us / 1000), percent: round((100 * us) / busy) };
    });
}

const round = (n: number) => Math.round(n * 10) / 10;

export function summarise(profile: CpuProfile, keepRaw: boolean): ProfileSummary {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const categories = new Map<string, number>();
  let idle = 0;
  let total = 0;
  for (let i = 0; i < samples.length; i++) {
    const us = deltas[i + 1] ?? 0;
    const node = nodes.get(samples[i]!);
    if (!node) continue;
    total += us;
    if (node.callFrame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    self.set(keyOf(node.callFrame), (self.get(keyOf(node.callFrame)) ?? 0) + us);
    const cat = category(node.callFrame);
    categories.set(cat, (categories.get(cat) ?? 0) + us);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = nodes.get(id)!.callFrame;
      const rel = relativePath(frame.url);
      if (!HUB_FOLDERS.some((f) => rel.startsWith(f))) continue;
      const key = keyOf(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const busy = Math.max(1, total - idle);
  return {
    durationMs: round((profile.endTime - profile.startTime) / 1000),
    busyPercent: round((100 * busy) / Math.max(1, total)),
    topSelf: entries(self, busy, TOP),
    topInclusive: entries(inclusive, busy, TOP),
    byCategory: [...categories.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([c, us]) => ({ category: c, ms: round(us / 1000), percent: round((100 * us) / busy) })),
    ...(keepRaw ? { raw: profile } : {}),
  };
}

/** Starts and stops sampling in this process. */
export class InProcessProfiler {
  #session: Session | undefined;

  async start(): Promise<void> {
    if (this.#session) throw new Error('already profiling');
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 250 });
    await session.post('Profiler.start');
    this.#session = session;
  }

  async stop(keepRaw: boolean): Promise<ProfileSummary> {
    const session = this.#session;
    if (!session) throw new Error('not profiling');
    this.#session = undefined;
    const { profile } = await session.post('Profiler.stop');
    await session.post('Profiler.disable');
    session.disconnect();
    return summarise(profile as unknown as CpuProfile, keepRaw);
  }
}
