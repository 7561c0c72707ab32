/**
 * The `hub` command: usage errors, catalogue validation, token issue, and `serve` end to end.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PROJECTION } from '../../audit/index.ts';
import { generateDemoData } from '../../demo/data.ts';
import { startDepartments, type DepartmentSystems } from '../../demo/environment.ts';
import { Authenticator, hashToken } from '../../gateway/credentials.ts';
import { copyDemoCatalogue } from '../support/catalogue.ts';
import { runHub, runProcess, type CliResult } from '../support/cli.ts';
import { DEMO_CATALOGUE, postGraphQL, ROOT } from '../support/hub.ts';
import { testDatabase, type TestDatabase } from '../support/mongo.ts';

type Result = CliResult;
const hub = runHub;


const noStack = (r: Result) => expect(`${r.stdout}${r.stderr}`).not.toMatch(/\n\s+at .+:\d+:\d+/);

describe('usage', () => {
  it.each([
    [[], 'no command given'],
    [['launch'], 'unknown command "launch"'],
    [['serve'], '--config is required'],
    [['serve', '--config'], "argument missing"],
    [['catalog'], 'catalog needs a command'],
    [['catalog', 'validate'], 'needs a catalogue directory'],
    [['token', 'create', '--config', 'x.yaml'], 'token create needs --role'],
    [['token', 'create', '--config', 'x.yaml', '--role', 'root', '--id', 'x'], '--role must be one of system, officer, admin, auditor, portal'],
    [['token', 'create', '--config', 'x.yaml', '--role', 'officer', '--id', 'rs-li'], '--department is required'],
    [['token', 'create', '--config', 'x.yaml', '--role', 'auditor'], '--id is required'],
    [['token', 'create', '--config', 'x.yaml', '--role', 'system'], '--system is required'],
    [['token', 'create', '--config', 'x.yaml', '--role', 'admin', '--id', 'ops', '--system', 'mz-dibao'], '--system is for --role system'],
    [['token', 'revoke', '--config', 'x.yaml'], 'exactly one of --id or --system'],
    [['token', 'renew'], 'unknown token command "renew"'],
    [['demo', '--port', 'abc'], 'port must be 0-65535'],
    [['key', 'create', '--bits', '3'], "Unknown option '--bits'"],
  ])('hub %j prints usage and exits 2', async (args, message) => {
    const r = await hub(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain('Usage: hub <command>');
    noStack(r);
  });

  it('prints a subject key', async () => {
    const r = await hub(['key', 'create']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('catalog validate', () => {
  it('accepts the demo catalogue', async () => {
    const r = await hub(['catalog', 'validate', DEMO_CATALOGUE]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/is valid: 10 resources/);
  });

  it('refuses a bad catalogue, naming the file, path and rule, without a stack trace', async () => {
    const copy = await copyDemoCatalogue();
    try {
      await copy.edit('resources/yb-medical-insurance.yaml', (t) => t.replace('type: string, classification: personal }', 'type: text, classification: personal }'));
      const r = await hub(['catalog', 'validate', copy.dir]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/yb-medical-insurance\.yaml: \/items\/0\/type must be one of "string", "integer", "number", "boolean", "date" \(rule: enum\)/);
      noStack(r);
    } finally {
      await copy.remove();
    }
  });
});

describe('serve and token create', () => {
  let db: TestDatabase;
  let departments: DepartmentSystems;
  let dir: string;
  let configPath: string;
  const data = generateDemoData({ households: 12 });

  beforeAll(async () => {
    db = await testDatabase('cli');
    dir = await mkdtemp(join(tmpdir(), 'hub-cli-'));
    departments = await startDepartments({ data, mongoUri: db.uri, filesDir: join(dir, 'files'), databasePrefix: `${db.name}_` });
    await writeFile(join(dir, 'subject.key'), 'ab'.repeat(32));
    await writeFile(join(dir, 'signing.key'), 'cd'.repeat(32));
    configPath = join(dir, 'hub.config.yaml');
    await writeFile(configPath, [
      'server: { host: 127.0.0.1, port: 0, graphiql: false }',
      `mongodb: { uri: "${db.uri}", database: ${db.name} }`,
      `catalogue: ${DEMO_CATALOGUE}`,
      'subjectKey: { file: subject.key }',
      'log: { level: info }',
      'auth: { cacheSeconds: 0 }',
      'audit: { signingKey: { file: signing.key }, checkpointSeconds: 0.2 }',
      '',
    ].join('\n'));
  });

  afterAll(async () => {
    await departments?.close();
    for (const d of Object.values(departments?.databases ?? {})) await db.client.db(d).dropDatabase();
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a config with a bad field, naming it', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, `mongodb: { uri: "postgres://x" }\ncatalogue: ${DEMO_CATALOGUE}\nlimits: { maxBatch: 0 }\n`);
    const r = await hub(['serve', '--config', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('/mongodb/uri must match pattern');
    expect(r.stderr).toContain('/limits/maxBatch must be >= 1');
    noStack(r);
    const missing = await hub(['serve', '--config', join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope\.yaml: \/ cannot be read \(ENOENT\)/);
  });

  it('refuses a token for a system that is not registered', async () => {
    const r = await hub(['token', 'create', '--config', configPath, '--system', 'no-such-system']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/"no-such-system" is not a registered system \(known: .*mz-dibao/);
  });

  it('refuses an officer of a department that is not catalogued', async () => {
    const r = await hub(['token', 'create', '--config', configPath, '--role', 'officer', '--department', 'XX', '--id', 'xx-officer']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--department: / department "XX" is not catalogued (known: GA, SJ, RS, MZ, WJ, YB, ZR, ZW) (rule: reference)');
    noStack(r);
  });

  it('issues a token that `hub serve` accepts, storing only its hash', async () => {
    const issued = await hub(['token', 'create', '--config', configPath, '--system', 'mz-dibao']);
    expect(issued.code).toBe(0);
    const token = issued.stdout.trim();
    expect(token).toMatch(/^ywgx_[A-Za-z0-9_-]{43}$/);
    const stored = await db.db.collection('credentials').findOne({ tokenHash: hashToken(token) });
    expect(stored).toMatchObject({ kind: 'system', principalId: 'mz-dibao', department: 'MZ' });
    expect(JSON.stringify(await db.db.collection('credentials').find().toArray())).not.toContain(token);

    const server = spawn(process.execPath, [join(ROOT, 'gateway/cli.ts'), 'serve', '--config', configPath], {
      cwd: ROOT, env: { ...process.env, ...departments.env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 30_000);
        server.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /"url":"([^"]+)"/.exec(out);
          if (m) { clearTimeout(timer); resolve(m[1]!); }
        });
        server.on('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
      });
      const applicant = data.dibaoApplicants[0]!;
      const res = await postGraphQL(url, token, `{ access(purpose: "440000-DIBAO-001", caseId: "DB-cli", operator: "op") { person(idNumber: "${applicant}") { hukou { gender } } } }`);
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data).toMatchObject({ access: { person: { hukou: { gender: expect.stringMatching(/^[男女]$/) } } } });

      const listed = await hub(['token', 'list', '--config', configPath, '--system', 'mz-dibao']);
      expect(listed.code).toBe(0);
      expect(listed.stdout).not.toContain(token);
      const id = hashToken(token).slice(0, 12);
      expect(listed.stdout).toMatch(new RegExp(`^${id}\tsystem\tmz-dibao\tMZ\t.*\tactive\t`, 'm'));
      const revoked = await hub(['token', 'revoke', '--config', configPath, '--id', id, '--reason', 'rotated']);
      expect(revoked.code).toBe(0);
      expect(revoked.stdout).toContain(`revoked ${id}`);
      const after = await postGraphQL(url, token, '{ me { id } }');
      expect(after.status).toBe(401);
      expect(after.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
      expect((await hub(['token', 'revoke', '--config', configPath, '--id', id])).stdout).toContain('no active token matched');

      const admin = await db.db.collection('audit_admin').find({}, { projection: { _id: 0 } }).toArray();
      expect(admin.map((a) => a['action'])).toEqual(expect.arrayContaining(['catalogue.sync', 'token.create', 'token.revoke']));
      expect(admin.find((a) => a['action'] === 'token.revoke')).toMatchObject({ target: id, reason: 'rotated', role: 'cli', actor: expect.stringMatching(/^cli:/) });
      expect(JSON.stringify(admin)).not.toContain(token);

      // Every role: the token authenticates as that principal.
      for (const [args, me] of [
        [['--role', 'officer', '--department', 'RS', '--id', 'rs-officer-li'], { kind: 'officer', id: 'rs-officer-li', department: 'RS' }],
        [['--role', 'admin', '--id', 'ops-admin'], { kind: 'admin', id: 'ops-admin', department: '' }],
        [['--role', 'auditor', '--id', 'audit-01', '--department', 'ZW'], { kind: 'auditor', id: 'audit-01', department: 'ZW' }],
        [['--role', 'portal', '--id', 'ywtb-portal'], { kind: 'portal', id: 'ywtb-portal', department: '' }],
        [['--role', 'system', '--system', 'zw-yichuang'], { kind: 'system', id: 'zw-yichuang', department: 'ZW' }],
      ] as const) {
        const created = await hub(['token', 'create', '--config', configPath, ...args]);
        expect(created.code, args.join(' ')).toBe(0);
        const who = await postGraphQL(url, created.stdout.trim(), '{ me { kind id department } }');
        expect(who.body.data, args.join(' ')).toEqual({ me });
      }
      // The trail: the verifier key and checkpoint served over HTTP equal what the CLI prints, and it verifies.
      const base = url.replace(/\/graphql$/, '');
      const vkey = await hub(['audit', 'key', '--config', configPath]);
      expect(vkey.stdout.trim()).toBe((await (await fetch(`${base}/audit/key`)).text()).trim());
      expect(vkey.stdout.trim()).toMatch(/^yiwang-hub\+[0-9a-f]{8}\+/);
      const served = await (await fetch(`${base}/audit/checkpoint`)).text();
      const printed = await hub(['audit', 'checkpoint', '--config', configPath]);
      expect(printed.code).toBe(0);
      expect(served.split('\n')[0]).toBe(printed.stdout.split('\n')[0]);
      const verified = await hub(['audit', 'verify', '--config', configPath]);
      expect(verified.stdout).toContain('the trail verifies');
      expect(verified.code).toBe(0);
      const wrongKey = await hub(['audit', 'verify', '--config', configPath, '--key', 'yiwang-hub+00000000+AQ==']);
      expect(wrongKey.code).toBe(1);

      const officerRecord = (await db.db.collection('audit_admin').find({ action: 'token.create', target: 'rs-officer-li' }).toArray())[0];
      expect(officerRecord).toMatchObject({ actor: expect.stringMatching(/^cli:/), role: 'cli', after: { kind: 'officer', principalId: 'rs-officer-li', department: 'RS' } });
      const roles = await hub(['token', 'list', '--config', configPath, '--role', 'officer']);
      expect(roles.stdout.trim().split('\n').map((line) => line.split('\t').slice(1, 4).join(' '))).toEqual(['officer rs-officer-li RS']);
    } finally {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
    }
    // A dozen CLI processes, each 2–5 s beside the rest of the suite on 2 cores: 44–58 s in full runs.
  }, 180_000);
});

describe('token create for every role', () => {
  let db: TestDatabase;
  let dir: string;
  let configPath: string;
  let auth: Authenticator;
  const actor = `cli:${userInfo().username}`;
  const create = (args: string[]) => hub(['token', 'create', '--config', configPath, ...args]);
  const credentialsOf = (principalId: string) => db.db.collection('credentials').find({ principalId }, { projection: { _id: 0 } }).toArray();

  beforeAll(async () => {
    db = await testDatabase('cli_roles');
    dir = await mkdtemp(join(tmpdir(), 'hub-cli-roles-'));
    configPath = join(dir, 'hub.config.yaml');
    await writeFile(configPath, `mongodb: { uri: "${db.uri}", database: ${db.name} }\ncatalogue: ${DEMO_CATALOGUE}\n`);
    auth = new Authenticator(db.db, { cacheTtlMs: 0 });
  });

  afterAll(async () => {
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    [['--role', 'system', '--system', 'mz-dibao'], { kind: 'system', id: 'mz-dibao', department: 'MZ' }, '最低生活保障审核系统'],
    [['--system', 'ga-huji'], { kind: 'system', id: 'ga-huji', department: 'GA' }, '户籍业务系统'],
    [['--role', 'officer', '--department', 'RS', '--id', 'rs-officer-li', '--label', '人社局数据专员 李'], { kind: 'officer', id: 'rs-officer-li', department: 'RS' }, '人社局数据专员 李'],
    [['--role', 'admin', '--id', 'ops-admin'], { kind: 'admin', id: 'ops-admin', department: '' }, 'admin ops-admin'],
    [['--role', 'auditor', '--id', 'audit-01', '--department', 'ZW'], { kind: 'auditor', id: 'audit-01', department: 'ZW' }, 'auditor audit-01'],
    [['--role', 'portal', '--id', 'ywtb-portal'], { kind: 'portal', id: 'ywtb-portal', department: '' }, 'portal ywtb-portal'],
  ] as const)('hub token create %j authenticates as %j and is recorded in audit_admin', async (args, principal, label) => {
    const r = await create([...args]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const token = r.stdout.trim();
    expect(token).toMatch(/^ywgx_[A-Za-z0-9_-]{43}$/);
    expect(await auth.authenticate(`Bearer ${token}`)).toEqual(principal);

    const stored = await credentialsOf(principal.id);
    expect(stored).toHaveLength(1);
    expect(stored[0]!['tokenHash']).toBe(hashToken(token));
    expect(JSON.stringify(stored)).not.toContain(token);

    const records = await db.db.collection('audit_admin').find({ action: 'token.create', target: principal.id }, { projection: ADMIN_PROJECTION }).toArray();
    expect(records).toEqual([{
      at: expect.any(Date),
      // Its place in the administrative log (under a checkpoint once a hub or a command with the key signs it).
      seq: expect.any(Number),
      actor,
      role: 'cli',
      department: null,
      action: 'token.create',
      target: principal.id,
      after: { credential: hashToken(token).slice(0, 12), kind: principal.kind, principalId: principal.id, department: principal.department },
      // Without --label: a system's catalogued name, else "<role> <id>".
      reason: label,
    }]);
    expect(JSON.stringify(records)).not.toContain(token);
    expect(JSON.stringify(records)).not.toContain(hashToken(token));
  });

  it.each([
    [['--role', 'officer', '--id', 'rs-officer-wang'], '--department is required'],
    [['--role', 'officer', '--id', 'rs-officer-wang', '--department', ''], '--department is required'],
    [['--role', 'admin'], '--id is required'],
    [['--role', 'auditor', '--department', 'ZW'], '--id is required'],
    [['--role', 'portal', '--label', 'portal'], '--id is required'],
    [['--role', 'officer', '--department', 'RS'], '--id is required'],
    [['--role', 'system', '--id', 'mz-dibao'], 'a system token is named by --system <code>, not --id'],
    [['--role', 'auditor', '--id', 'audit-02', '--system', 'mz-dibao'], '--system is for --role system; auditor tokens are named by --id'],
    [['--role', 'superuser', '--id', 'root'], '--role must be one of system, officer, admin, auditor, portal, got "superuser"'],
  ])('hub token create %j prints usage, exits 2 and issues nothing', async (args, message) => {
    const r = await create(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`hub: ${message}\n`);
    expect(r.stderr).toContain('Usage: hub <command>');
    noStack(r);
    expect(await db.db.collection('credentials').countDocuments({ principalId: { $in: ['rs-officer-wang', 'audit-02', 'root'] } })).toBe(0);
  });

  it.each([
    [['--role', 'officer', '--department', 'QQ', '--id', 'qq-officer'], 'qq-officer', '--department: / department "QQ" is not catalogued (known: GA, SJ, RS, MZ, WJ, YB, ZR, ZW) (rule: reference)'],
    [['--role', 'admin', '--department', 'QQ', '--id', 'qq-admin'], 'qq-admin', '--department: / department "QQ" is not catalogued (known: GA, SJ, RS, MZ, WJ, YB, ZR, ZW) (rule: reference)'],
    [['--role', 'system', '--system', 'qq-system'], 'qq-system', '--system: / "qq-system" is not a registered system (known: '],
    [['--role', 'system', '--system', 'mz-dibao', '--department', 'RS'], 'mz-dibao', '--department: / system "mz-dibao" belongs to department MZ (rule: reference)'],
    [['--role', 'portal', '--id', 'ywtb/portal'], 'ywtb/portal', '--id: / must be 1-64 letters, digits and _ . @ - (starting with a letter or digit) (rule: pattern)'],
  ])('hub token create %j exits 1 naming the option and issues nothing', async (args, principalId, message) => {
    const before = (await credentialsOf(principalId)).length;
    const r = await create(args);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`hub: invalid input\n${message}`);
    expect(r.stderr).not.toContain('Usage: hub <command>');
    noStack(r);
    expect(await credentialsOf(principalId)).toHaveLength(before);
  });

  it('lists tokens by role, and revokes one with an admin record; the token then authenticates as nobody', async () => {
    const created = await create(['--role', 'auditor', '--id', 'audit-rotate']);
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    const id = hashToken(token).slice(0, 12);

    const listed = await hub(['token', 'list', '--config', configPath, '--role', 'auditor', '--id', 'audit-rotate']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).not.toContain(token);
    expect(listed.stdout.trim().split('\n').map((line) => line.split('\t').filter((_, i) => i !== 4))).toEqual([[id, 'auditor', 'audit-rotate', '', 'active', 'auditor audit-rotate']]);
    const officers = await hub(['token', 'list', '--config', configPath, '--role', 'officer']);
    expect(officers.stdout.trim().split('\n').map((line) => line.split('\t').slice(1, 4).join(' '))).toEqual(['officer rs-officer-li RS']);

    const revoked = await hub(['token', 'revoke', '--config', configPath, '--id', id, '--reason', 'auditor left']);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout.trim()).toBe(`revoked ${id}`);
    expect(await auth.authenticate(`Bearer ${token}`)).toBeNull();

    const [credential] = await credentialsOf('audit-rotate');
    const records = await db.db.collection('audit_admin').find({ action: 'token.revoke', target: id }, { projection: ADMIN_PROJECTION }).toArray();
    expect(records).toEqual([{
      at: expect.any(Date), seq: expect.any(Number), actor, role: 'cli', department: null, action: 'token.revoke', target: id,
      before: { active: true }, after: { revokedAt: credential!['revokedAt'] }, reason: 'auditor left',
    }]);
    expect(credential!['revokedAt']).toBeInstanceOf(Date);
    expect(JSON.stringify(records)).not.toContain(token);
  });

  it('rotates a token: the successor works at once, the old one until the overlap ends, recorded in audit_admin', async () => {
    const old = (await create(['--role', 'auditor', '--id', 'audit-rot2'])).stdout.trim();
    const oldId = hashToken(old).slice(0, 12);
    const before = Date.now();
    const rotated = await hub(['token', 'rotate', '--config', configPath, '--id', oldId, '--overlap', '2h', '--reason', 'yearly rotation']);
    expect(rotated.code).toBe(0);
    const successor = rotated.stdout.trim();
    expect(successor).toMatch(/^ywgx_[A-Za-z0-9_-]{43}$/);
    expect(rotated.stderr).toMatch(new RegExp(`^credential ${hashToken(successor).slice(0, 12)} issued; ${oldId} keeps working until \\d{4}-`));
    const principal = { kind: 'auditor', id: 'audit-rot2', department: '' };
    expect([await auth.authenticate(`Bearer ${old}`), await auth.authenticate(`Bearer ${successor}`)]).toEqual([principal, principal]);
    const [stored] = await db.db.collection('credentials').find({ tokenHash: hashToken(old) }).toArray();
    const expiresAt = (stored!['expiresAt'] as Date).getTime();
    expect(expiresAt - before).toBeGreaterThanOrEqual(7_200_000);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(7_200_000);
    const listed = await hub(['token', 'list', '--config', configPath, '--id', 'audit-rot2']);
    expect(listed.stdout.trim().split('\n').map((line) => line.split('\t')[5])).toEqual([`active until ${new Date(expiresAt).toISOString()}`, 'active']);
    const records = await db.db.collection('audit_admin').find({ action: 'token.rotate', target: oldId }, { projection: ADMIN_PROJECTION }).toArray();
    expect(records).toEqual([{
      at: expect.any(Date), seq: expect.any(Number), actor, role: 'cli', department: null, action: 'token.rotate', target: oldId,
      before: { expiresAt: null }, after: { expiresAt: stored!['expiresAt'], successor: hashToken(successor).slice(0, 12) }, reason: 'yearly rotation',
    }]);

    // With no overlap the old token stops at once.
    const again = await hub(['token', 'rotate', '--config', configPath, '--id', hashToken(successor).slice(0, 12), '--overlap', '0s']);
    expect(again.code).toBe(0);
    expect(await auth.authenticate(`Bearer ${successor}`)).toBeNull();
    expect(await auth.authenticate(`Bearer ${again.stdout.trim()}`)).toEqual(principal);
  });

  it('issues a token with a lifetime, listed with its expiry, that stops working at it', async () => {
    const r = await create(['--role', 'portal', '--id', 'short-portal', '--expires-in', '1s']);
    expect(r.code).toBe(0);
    const token = r.stdout.trim();
    expect(await auth.authenticate(`Bearer ${token}`)).toEqual({ kind: 'portal', id: 'short-portal', department: '' });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await auth.authenticate(`Bearer ${token}`)).toBeNull();
    const listed = await hub(['token', 'list', '--config', configPath, '--id', 'short-portal']);
    expect(listed.stdout.split('\t')[5]).toMatch(/^expired \d{4}-/);
  });

  it.each([
    [['token', 'rotate', '--id', 'abcdef0123'], '--config is required'],
    [['token', 'create', '--config', '<config>', '--role', 'admin', '--id', 'x', '--expires-in', '10 days'], '--expires-in must be a duration such as 30m, 24h or 90d, got "10 days"'],
    [['token', 'rotate', '--config', '<config>', '--id', 'abcdef0123', '--overlap', '2 weeks'], '--overlap must be a duration such as 30m, 24h or 90d, got "2 weeks"'],
  ])('hub %j prints usage and exits 2', async (args, message) => {
    const r = await hub(args.map((a) => (a === '<config>' ? configPath : a)));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`hub: ${message}\n`);
    noStack(r);
  });

  it('refuses to rotate a token that does not exist, naming the option', async () => {
    const r = await hub(['token', 'rotate', '--config', configPath, '--id', 'abcdef0123']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--id: / no active token has id abcdef0123 (see `hub token list`) (rule: reference)');
    noStack(r);
  });
});

describe('config check', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hub-config-check-'));
    await writeFile(join(dir, 'subject.key'), 'ab'.repeat(32));
    await writeFile(join(dir, 'signing.key'), 'cd'.repeat(32));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('says ok, with a summary of config and catalogue, for a config serve would start with', async () => {
    const path = join(dir, 'good.yaml');
    await writeFile(path, [
      'server: { host: 127.0.0.1, port: 4100, drainSeconds: 20 }',
      'mongodb: { uri: "mongodb://127.0.0.1:27017", database: hub_check }',
      `catalogue: ${DEMO_CATALOGUE}`,
      'subjectKey: { file: subject.key }',
      'audit: { signingKey: { file: signing.key } }',
      '',
    ].join('\n'));
    const r = await hub(['config', 'check', path]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`config ${path} is ok: serves http://127.0.0.1:4100, MongoDB database "hub_check", drain 20 s`);
    expect(r.stdout).toMatch(/catalogue .*demo\/catalogue: 10 resources, 5 purposes/);
  });

  it('names every bad field at once, and exits 1 without a stack trace', async () => {
    const path = join(dir, 'bad.yaml');
    await writeFile(path, [
      'server: { port: 70000, drainSeconds: -1, colour: blue }',
      'mongodb: { uri: "http://127.0.0.1:27017" }',
      `catalogue: ${DEMO_CATALOGUE}`,
      'timeZone: Asia/Atlantis',
      'audit: { maxInFlight: 0 }',
      '',
    ].join('\n'));
    const r = await hub(['config', 'check', path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`hub: ${path} is not ready to serve: 6 problems`);
    for (const expected of [
      '/server/port must be <= 65535 (rule: maximum)',
      '/server/drainSeconds must be >= 0 (rule: minimum)',
      '/server/colour is not an allowed property (rule: additionalProperties)',
      '/mongodb/uri must match pattern',
      '/audit/maxInFlight must be >= 1 (rule: minimum)',
      '/timeZone "Asia/Atlantis" is not an IANA time zone',
    ]) expect(r.stderr).toContain(expected);
    noStack(r);
  });

  it('checks what the config names, as serve does: keys and the catalogue, every problem', async () => {
    const copy = await copyDemoCatalogue();
    try {
      await copy.edit('resources/yb-medical-insurance.yaml', (t) => t.replace('type: string, classification: personal }', 'type: text, classification: personal }'));
      const path = join(dir, 'names.yaml');
      await writeFile(path, [
        'mongodb: { uri: "mongodb://127.0.0.1:27017" }',
        `catalogue: ${copy.dir}`,
        'subjectKey: { file: missing-subject.key }',
        'audit: { signingKey: { env: HUB_CHECK_NO_SUCH_KEY } }',
        '',
      ].join('\n'));
      const r = await hub(['config', 'check', path], { HUB_SUBJECT_KEY: '' });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('3 problems');
      expect(r.stderr).toContain('/subjectKey/file cannot read');
      expect(r.stderr).toContain('environment HUB_CHECK_NO_SUCH_KEY: / is not set');
      expect(r.stderr).toMatch(/yb-medical-insurance\.yaml: \/items\/0\/type must be one of/);
      noStack(r);
    } finally {
      await copy.remove();
    }
  });

  it('checks the client-identity settings: TLS files, JWT issuers\' key set files and departments', async () => {
    await writeFile(join(dir, 'not-jwks.json'), '{"keys": 3}');
    const path = join(dir, 'identity.yaml');
    await writeFile(path, [
      'server: { tls: { certFile: missing.crt, keyFile: missing.key, clientCertificates: required } }',
      'mongodb: { uri: "mongodb://127.0.0.1:27017" }',
      `catalogue: ${DEMO_CATALOGUE}`,
      'subjectKey: { file: subject.key }',
      'audit: { signingKey: { file: signing.key } }',
      'auth:',
      '  jwt:',
      '    issuers:',
      '      - { issuer: "https://idp.a", department: QQ, jwksUri: "https://idp.a/jwks", audience: hub }',
      '      - { issuer: "https://idp.b", department: MZ, jwksFile: not-jwks.json, audience: hub }',
      '      - { issuer: "https://idp.c", department: MZ, audience: hub }',
      '',
    ].join('\n'));
    const first = await hub(['config', 'check', path]);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain('/server/tls/clientCaFile is required when server.tls.clientCertificates is required');
    expect(first.stderr).toContain('2 problems');
    expect(first.stderr).toContain('/auth/jwt/issuers/2 needs exactly one of jwksUri (the issuer\'s key set URL) or jwksFile');
    noStack(first);

    await writeFile(path, (await import('node:fs/promises').then((fs) => fs.readFile(path, 'utf8')))
      .replace(', clientCertificates: required', '')
      .replace('      - { issuer: "https://idp.c", department: MZ, audience: hub }\n', ''));
    const second = await hub(['config', 'check', path]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('4 problems');
    expect(second.stderr).toContain(`/server/tls/certFile cannot read ${join(dir, 'missing.crt')} (ENOENT)`);
    expect(second.stderr).toContain(`/server/tls/keyFile cannot read ${join(dir, 'missing.key')} (ENOENT)`);
    expect(second.stderr).toContain(`config /auth/jwt/issuers/1/jwksFile: / ${join(dir, 'not-jwks.json')} is not a JSON Web Key Set`);
    expect(second.stderr).toContain('/auth/jwt/issuers/0/department department "QQ" is not catalogued');
    noStack(second);
  });

  it.each([
    [['config'], 'config needs a command: check'],
    [['config', 'lint'], 'unknown config command "lint"'],
    [['config', 'check'], 'config check needs a config file'],
  ])('hub %j prints usage and exits 2', async (args, message) => {
    const r = await hub(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });
});

/** The machine's own Node when it is older than the project's (the case the bin shim exists for). */
const OLDER_NODE = await (async () => {
  const r = await new Promise<string>((resolve) => {
    const c = spawn('/usr/bin/node', ['-p', 'process.versions.node'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('error', () => resolve(''));
    c.on('close', () => resolve(out.trim()));
  });
  return r !== '' && Number(r.split('.')[0]) < 24 ? r : undefined;
})();

describe.skipIf(!OLDER_NODE)(`npx hub with an older Node first on PATH (${OLDER_NODE ?? 'none here'})`, () => {
  const run = (command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> =>
    runProcess(command, args, { ...process.env, PATH: `/usr/bin:${process.env['PATH']}`, ...env });

  it('reaches the project\'s command on Node 24, with its exit codes', async () => {
    const help = await run('/usr/bin/npx', ['hub', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: hub <command>');
    const usage = await run('/usr/bin/npx', ['hub', 'launch']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('unknown command "launch"');
    const check = await run('/usr/bin/node', ['bin/hub.js', 'catalog', 'validate', DEMO_CATALOGUE]);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/is valid: 10 resources/);
  });

  it('says in one line which Node the hub uses when npm runs on the older one', async () => {
    const note = await run('/usr/bin/node', ['bin/install-note.js'], { npm_config_user_agent: `npm/11.0.0 node/v${OLDER_NODE} linux x64 workspaces/false` });
    expect(note.stdout.trim().split('\n')).toHaveLength(1);
    expect(note.stdout).toContain(`npm runs on Node ${OLDER_NODE} here; the hub brings its own Node 24`);
    const quiet = await run(process.execPath, ['bin/install-note.js'], { npm_config_user_agent: `npm/11.0.0 node/${process.version} linux x64` });
    expect(quiet.stdout).toBe('');
  });
});
