import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CALENDAR, loadConfig, parseConfig, readSubjectKey } from '../../gateway/config.ts';
import { ValidationError } from '../../schema/index.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hub-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = { mongodb: { uri: 'mongodb://127.0.0.1:27017' }, catalogue: './catalogue' };
const fails = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as Error).message;
  }
  throw new Error('expected a ValidationError');
};

describe('config', () => {
  it('applies defaults and resolves paths against the config file', () => {
    const c = parseConfig(base, 'hub.yaml', '/etc/hub', {});
    expect(c.server).toEqual({ host: '127.0.0.1', port: 4000, graphiql: false, introspection: 'off', drainSeconds: 10, headersTimeoutSeconds: 10, requestTimeoutSeconds: 20, trustedProxies: [] });
    expect(c.mongodb).toEqual({ uri: 'mongodb://127.0.0.1:27017', database: 'hub', timeoutMs: 10000 });
    expect(c.catalogue).toBe('/etc/hub/catalogue');
    expect(c.limits.maxBatch).toBe(100);
    expect(c.audit.writeConcern).toBe('auto');
    expect(c.audit.lingerMs).toBe(0);
    expect(c.timeZone).toBe('Asia/Shanghai');
    expect(c.applications).toEqual({ deadlineWorkingDays: 10, calendar: DEFAULT_CALENDAR });
    expect(c.sync).toEqual({ pollMilliseconds: 500 });
  });

  it('refuses a time zone that is not an IANA name, naming the field', () => {
    expect(fails(() => parseConfig({ ...base, timeZone: 'Mars/Olympus' }, 'hub.yaml', '/', {}))).toBe('hub.yaml: /timeZone "Mars/Olympus" is not an IANA time zone (e.g. Asia/Shanghai) (rule: timeZone)');
    expect(fails(() => parseConfig({ ...base, applications: { deadlineWorkingDays: 0 } }, 'hub.yaml', '/', {}))).toBe('hub.yaml: /applications/deadlineWorkingDays must be >= 1 (rule: minimum)');
  });

  it('refuses a request deadline shorter than the header deadline', () => {
    expect(fails(() => parseConfig({ ...base, server: { headersTimeoutSeconds: 30, requestTimeoutSeconds: 20 } }, 'hub.yaml', '/', {})))
      .toBe('hub.yaml: /server/requestTimeoutSeconds must be at least server.headersTimeoutSeconds (30) (rule: minimum)');
  });

  it('waits 300 s, or 3 checkpoint intervals when longer, before signing a silent hub\'s log, and refuses less than 3 intervals', () => {
    expect(parseConfig(base, 'hub.yaml', '/', {}).audit.adoptAfterSeconds).toBe(300);
    expect(parseConfig({ ...base, audit: { checkpointSeconds: 200 } }, 'hub.yaml', '/', {}).audit.adoptAfterSeconds).toBe(600);
    expect(parseConfig({ ...base, audit: { checkpointSeconds: 0.2, adoptAfterSeconds: 1 } }, 'hub.yaml', '/', {}).audit.adoptAfterSeconds).toBe(1);
    expect(fails(() => parseConfig({ ...base, audit: { checkpointSeconds: 10, adoptAfterSeconds: 20 } }, 'hub.yaml', '/', {})))
      .toBe('hub.yaml: /audit/adoptAfterSeconds must be at least 3 × audit.checkpointSeconds (30) (rule: minimum)');
  });

  it('leaves the stored tree\'s fill interval to the server when not set (60 s on MongoDB, on demand on FerretDB), and refuses a negative one', () => {
    expect(parseConfig(base, 'hub.yaml', '/', {}).audit.treeFillSeconds).toBeUndefined();
    expect(parseConfig({ ...base, audit: { treeFillSeconds: 0 } }, 'hub.yaml', '/', {}).audit.treeFillSeconds).toBe(0);
    expect(fails(() => parseConfig({ ...base, audit: { treeFillSeconds: -1 } }, 'hub.yaml', '/', {}))).toBe('hub.yaml: /audit/treeFillSeconds must be >= 0 (rule: minimum)');
  });

  it('refuses working hours that end before they start, and a retention period under 3 years', () => {
    const hours = (workingHours: string) => fails(() => parseConfig({ ...base, audit: { anomalies: { workingHours } } }, 'hub.yaml', '/', {}));
    expect(hours('18:00-08:30')).toBe('hub.yaml: /audit/anomalies/workingHours working hours must be HH:MM-HH:MM with the start before the end, at most 24:00; got "18:00-08:30" (rule: workingHours)');
    expect(hours('8:30-18:00')).toBe('hub.yaml: /audit/anomalies/workingHours must match pattern "^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-4]):[0-5][0-9]$" (rule: pattern)');
    expect(fails(() => parseConfig({ ...base, audit: { retentionDays: 365 } }, 'hub.yaml', '/', {}))).toBe('hub.yaml: /audit/retentionDays must be >= 1096 (rule: minimum)');
    expect(parseConfig(base, 'hub.yaml', '/', {}).audit).toMatchObject({ retentionDays: 1096, anomalies: { workingHours: '08:30-18:00', volumeFactor: 3 } });
    expect(fails(() => parseConfig({ ...base, audit: { lingerMs: 51 } }, 'hub.yaml', '/', {}))).toBe('hub.yaml: /audit/lingerMs must be <= 50 (rule: maximum)');
  });

  it('lets the environment override the file', () => {
    const c = parseConfig(base, 'hub.yaml', '/etc/hub', { MONGODB_URI: 'mongodb://db:27017', MONGODB_DATABASE: 'prod', PORT: '8080', HOST: '0.0.0.0', LOG_LEVEL: 'warn' });
    expect(c.mongodb.uri).toBe('mongodb://db:27017');
    expect(c.mongodb.database).toBe('prod');
    expect(c.server).toMatchObject({ port: 8080, host: '0.0.0.0' });
    expect(c.log.level).toBe('warn');
  });

  it('names the field and rule of a bad value, from the file or the environment', () => {
    expect(fails(() => parseConfig({ ...base, server: { port: 'eighty' } }, 'hub.yaml', '/', {}))).toContain('hub.yaml: /server/port must be integer (rule: type)');
    expect(fails(() => parseConfig({ ...base, extra: 1 }, 'hub.yaml', '/', {}))).toContain('hub.yaml: /extra is not an allowed property');
    expect(fails(() => parseConfig(base, 'hub.yaml', '/', { PORT: '99999' }))).toContain('environment PORT');
    expect(fails(() => parseConfig(base, 'hub.yaml', '/', { LOG_LEVEL: 'loud' }))).toContain('/log/level must be one of');
    expect(fails(() => parseConfig([], 'hub.yaml', '/', {}))).toContain('must be a mapping');
  });

  it('accepts the example config shipped in config/', async () => {
    const c = await loadConfig(new URL('../../config/hub.example.yaml', import.meta.url).pathname, {});
    expect(c.catalogue).toMatch(/demo\/catalogue$/);
    expect(c.subjectKey).toEqual({ env: 'HUB_SUBJECT_KEY' });
    expect(c.applications.calendar).toBe(DEFAULT_CALENDAR);
  });

  it('names the line of a YAML error', async () => {
    const path = join(dir, 'broken.yaml');
    await writeFile(path, 'mongodb:\n  uri: "x\n');
    await expect(loadConfig(path, {})).rejects.toThrow(/broken\.yaml:\d+:\d+/);
  });

  it('reads a subject key of at least 32 bytes from a file or the environment', async () => {
    const keyFile = join(dir, 'key');
    await writeFile(keyFile, `${'a1'.repeat(32)}\n`);
    const fromFile = parseConfig({ ...base, subjectKey: { file: keyFile } }, 'hub.yaml', dir, {});
    expect((await readSubjectKey(fromFile, {})).length).toBe(32);
    const fromEnv = parseConfig(base, 'hub.yaml', dir, {});
    expect((await readSubjectKey(fromEnv, { HUB_SUBJECT_KEY: Buffer.alloc(48, 7).toString('base64') })).length).toBe(48);
    await expect(readSubjectKey(fromEnv, {})).rejects.toThrow(/HUB_SUBJECT_KEY.*is not set/);
    await expect(readSubjectKey(fromEnv, { HUB_SUBJECT_KEY: 'abcd' })).rejects.toThrow(/at least 32 bytes/);
  });
});
