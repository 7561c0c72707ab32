/**
 * The metrics registry, the scrape token, the tracing switch, and the Grafana dashboard kept in step
 * with the registry (every metric a panel queries exists; every hub metric has a panel).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../gateway/config.ts';
import { HubMetrics, MAX_OPERATION_NAMES } from '../../gateway/observability/metrics.ts';
import { createTracing } from '../../gateway/observability/tracing.ts';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Panel { readonly type: string; readonly title: string; readonly datasource?: { uid?: string }; readonly targets?: ReadonlyArray<{ expr: string }>; readonly panels?: Panel[] }

async function dashboard(): Promise<{ panels: Panel[]; templating: { list: Array<{ name: string; type: string; query: unknown }> }; uid: string; title: string; schemaVersion: number }> {
  return JSON.parse(await readFile(join(ROOT, 'ops/grafana/yiwang-hub.json'), 'utf8')) as never;
}

/** Metric family names of the hub's own registry (process metrics left out). */
async function families(): Promise<Set<string>> {
  const metrics = new HubMetrics({}, { processMetrics: false });
  return new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
}

/** `hub_x_bucket` / `_sum` / `_count` query the histogram `hub_x`. */
function familyOf(series: string, known: Set<string>): string {
  if (known.has(series)) return series;
  const base = series.replace(/_(bucket|sum|count)$/, '');
  return known.has(base) ? base : series;
}

describe('Grafana dashboard', () => {
  it('is a dashboard with a Prometheus datasource variable that every panel uses', async () => {
    const d = await dashboard();
    expect(d.uid).toBe('yiwang-hub');
    expect(d.schemaVersion).toBeGreaterThanOrEqual(30);
    expect(d.templating.list.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const queried = d.panels.filter((p) => p.type !== 'row');
    expect(queried.length).toBeGreaterThan(5);
    for (const p of queried) {
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
    }
  });

  it('queries only metrics the hub registers, and every hub metric', async () => {
    const known = await families();
    const d = await dashboard();
    const used = new Set<string>();
    for (const p of d.panels) {
      for (const t of p.targets ?? []) {
        const names = t.expr.match(/\bhub_[a-z0-9_]+/g) ?? [];
        expect(names.length, `${p.title}: ${t.expr}`).toBeGreaterThan(0);
        for (const n of names) {
          const family = familyOf(n, known);
          expect(known.has(family), `${p.title} queries ${n}, which the hub does not register`).toBe(true);
          used.add(family);
        }
      }
    }
    expect([...known].filter((n) => !used.has(n))).toEqual([]);
  });
});

describe('metrics', () => {
  it('refuses every scrape without a configured token, and checks the token when one is', () => {
    expect(new HubMetrics({}, { processMetrics: false }).scrapeConfigured).toBe(false);
    expect(new HubMetrics({}, { processMetrics: false }).mayScrape('Bearer anything')).toBe(false);
    expect(new HubMetrics({}, { processMetrics: false, scrapeToken: 'too-short' }).scrapeConfigured).toBe(false);
    const m = new HubMetrics({}, { processMetrics: false, scrapeToken: 'a-long-enough-scrape-token' });
    expect(m.mayScrape('Bearer a-long-enough-scrape-token')).toBe(true);
    expect(m.mayScrape('Bearer a-long-enough-scrape-tokeN')).toBe(false);
    expect(m.mayScrape('a-long-enough-scrape-token')).toBe(false);
    expect(m.mayScrape(null)).toBe(false);
  });

  it('keeps operation-name labels bounded in form and number', () => {
    const m = new HubMetrics({}, { processMetrics: false });
    expect(m.operationLabel(undefined)).toBe('anonymous');
    expect(m.operationLabel('Births')).toBe('Births');
    expect(m.operationLabel('bad name"}')).toBe('other');
    for (let i = 0; i < MAX_OPERATION_NAMES + 10; i++) m.operationLabel(`Op${i}`);
    expect(m.operationLabel('Births')).toBe('Births');
    expect(m.operationLabel('OneTooMany')).toBe('other');
  });

  it('reads live values at scrape time and keeps registries apart', async () => {
    let depth = 3;
    const a = new HubMetrics({ auditQueueDepth: () => depth, grantsRefreshedAt: () => Date.now() - 5000 }, { processMetrics: false });
    const b = new HubMetrics({}, { processMetrics: false });
    a.requests.inc({ operation: 'X', outcome: 'ok' });
    expect(await a.text()).toContain('hub_audit_queue_depth 3');
    depth = 0;
    expect(await a.text()).toContain('hub_audit_queue_depth 0');
    expect(await a.text()).toMatch(/hub_grants_cache_age_seconds [45]\.\d+|hub_grants_cache_age_seconds 5\b/);
    expect(await b.text()).not.toContain('operation="X"');
  });

  it("counts the seconds the event loop ran callbacks: a 300 ms spin between scrapes adds about 0.3 s", async () => {
    const m = new HubMetrics({}, { processMetrics: false });
    const busy = async () => Number((await m.text()).match(/^hub_event_loop_busy_seconds_total (\S+)$/m)?.[1]);
    const before = await busy();
    const until = performance.now() + 300;
    while (performance.now() < until) Math.sqrt(Math.random());
    const after = await busy();
    expect(after - before).toBeGreaterThanOrEqual(0.29);
    expect(after - before).toBeLessThan(1);
  });
});

describe('configuration', () => {
  const base = { mongodb: { uri: 'mongodb://127.0.0.1:27017' }, catalogue: 'demo/catalogue' };
  it('has metrics on (token from HUB_METRICS_TOKEN) and tracing off by default', () => {
    const config = parseConfig(base, 'test', ROOT, {});
    expect(config.metrics).toEqual({ enabled: true, tokenEnv: 'HUB_METRICS_TOKEN' });
    expect(config.tracing).toMatchObject({ enabled: false, endpoint: 'http://127.0.0.1:4318/v1/traces', sampleRatio: 1 });
  });

  it('names a bad tracing endpoint', () => {
    expect(() => parseConfig({ ...base, tracing: { enabled: true, endpoint: 'collector:4318' } }, 'test', ROOT, {})).toThrow(/tracing\/endpoint/);
  });

  it('gives a no-op tracer when tracing is off', async () => {
    const tracing = await createTracing({ enabled: false, endpoint: 'http://127.0.0.1:4318/v1/traces', serviceName: 'x', sampleRatio: 1 });
    expect(tracing.enabled).toBe(false);
    const span = tracing.tracer.startSpan('x');
    expect(span.isRecording()).toBe(false);
    span.end();
  });
});
