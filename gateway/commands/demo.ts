/**
 * `hub demo` (what `npm start` runs): provisions MongoDB, starts the sample department systems,
 * loads the demo catalogue, serves the hub, and writes ready-to-use credentials and an example query.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MongoClient } from 'mongodb';
import { generateDemoData, type DemoData } from '../../demo/data.ts';
import { demoPostgresUrl, startDepartments } from '../../demo/environment.ts';
import { CSYJS, DEMO_PRINCIPALS, ensureDemoConsent, seedApplications } from '../../demo/workflow.ts';
import { addWorkingDays, type Principal } from '../../policies/index.ts';
import { setSubmission } from '../../store/index.ts';
import { parseConfig } from '../config.ts';
import { ensureCredentialIndexes, issueToken, tokenValid } from '../credentials.ts';
import { startHub } from '../hub.ts';
import { offerDemoLogins } from '../console/demo-logins.ts';
import { createLogger } from '../logger.ts';
import { hubClientOptions } from '../mongo/client.ts';
import { provisionMongo } from '../mongo/provision.ts';
import { loadHubCatalogue } from '../runtime.ts';

export interface DemoOptions {
  readonly root: string;
  /** Where the demo keeps its MongoDB data, files, key and credentials (default <root>/.demo). */
  readonly dataDir?: string;
  readonly port: number;
  readonly out: (line: string) => void;
}

async function ensureSecretFile(path: string): Promise<void> {
  try {
    await readFile(path);
  } catch {
    await writeFile(path, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  }
}

export function exampleQuery(data: DemoData): string {
  const birth = data.births[0]!;
  return `# 出生一件事: one newborn's records from 公安 (户籍), 卫健 (出生医学证明) and 医保 (参保),
# and the mother's social insurance from 人社, under one purpose and case number.
query Newborn {
  access(purpose: "440000-CSYJS-001", caseId: "CSYJS-2026-000123", operator: "zw-operator-07") {
    child: person(idNumber: "${birth.child}") {
      idNumber
      hukou { name gender birthDate address relation }
      birthCertificate { certificateNo childName birthDate birthPlace motherName }
      medicalInsurance { status scheme insuredSince }
    }
    mother: person(idNumber: "${birth.mother}") {
      socialInsurance { status insuredSince }
    }
    motherCheck: verify(resource: "WJ-BIRTH-CERT", key: "${birth.child}", claims: { motherIdNumber: "${birth.mother}" }) {
      match
      mismatched
    }
  }
}
`;
}

const DEMO_SYSTEMS = ['zw-yichuang', 'mz-dibao', 'sj-kaiban', 'ga-huji'] as const;

/** 出生一件事 with the mother's face photo: served only under the consent the portal recorded. */
export function faceQuery(data: DemoData, consentRef: string | null): string {
  const birth = data.births[0]!;
  const consent = consentRef ? `, consentRef: "${consentRef}"` : '';
  return `# The mother's face photo (biometric, PIPL Art. 28-29): served only with her separate consent.
# Without consentRef the same request answers CONSENT_REQUIRED.
query MotherFace {
  access(purpose: "${CSYJS}", caseId: "CSYJS-2026-000123", operator: "zw-operator-07"${consent}) {
    mother: person(idNumber: "${birth.mother}") { facePhoto { photo takenAt } }
  }
}
`;
}

export async function runDemo(options: DemoOptions): Promise<void> {
  const dir = resolve(options.dataDir ?? join(options.root, '.demo'));
  await mkdir(dir, { recursive: true });
  const keyFile = join(dir, 'subject.key');
  await ensureSecretFile(keyFile);
  // The Ed25519 key that signs the trail's checkpoints: kept with the demo's data, never in MongoDB.
  const signingFile = join(dir, 'audit-signing.key');
  await ensureSecretFile(signingFile);
  const logger = createLogger(process.env['LOG_LEVEL'] ?? 'info');

  options.out('Provisioning MongoDB (MONGODB_URI, else mongod, else FerretDB built with Go once) …');
  const mongo = await provisionMongo({ dataDir: join(dir, 'mongo'), cacheDir: join(options.root, '.cache'), log: (m) => options.out(`  ${m}`) });
  options.out(`  MongoDB: ${mongo.source}`);
  const data = generateDemoData();
  // MONGODB_DATABASE names the hub's database; the departments' databases take it as a prefix.
  const database = process.env['MONGODB_DATABASE'] || 'hub_demo';
  // 自然资源 moves to a PostgreSQL front-end database when DEMO_POSTGRES_URL (or the local default) answers.
  const departments = await startDepartments({
    data, mongoUri: mongo.uri, filesDir: join(dir, 'departments'), databasePrefix: database === 'hub_demo' ? 'dept_' : `${database}_dept_`,
    postgresUrl: demoPostgresUrl(), log: (m) => options.out(`  ${m}`),
  }).catch(async (error: unknown) => {
    await mongo.stop();
    throw error;
  });
  Object.assign(process.env, departments.env);

  try {
    const config = parseConfig(
      { mongodb: { uri: mongo.uri, database }, catalogue: resolve(options.root, 'demo/catalogue'), subjectKey: { file: keyFile }, server: { port: options.port, graphiql: true, introspection: 'all' } },
      'demo config',
      options.root,
      {},
    );
    const catalogue = departments.bind(await loadHubCatalogue(config.catalogue));
    const subjectKey = Buffer.from((await readFile(keyFile, 'utf8')).trim(), 'hex');
    const signingKey = (await readFile(signingFile, 'utf8')).trim();
    const hub = await startHub({ config, logger, subjectKey, signingKey, catalogue, env: process.env });

    const credentialsFile = join(dir, 'credentials.json');
    const credentials = await issueDemoTokens(mongo.uri, config.mongodb.database, credentialsFile, catalogue.systems);
    await writeFile(credentialsFile, JSON.stringify(credentials, null, 2) + '\n', { mode: 0o600 });
    await chmod(credentialsFile, 0o600);
    // The console's one-click demo log-ins (never offered by `hub serve`): 卫健's officer has a pending application.
    offerDemoLogins(hub.runtime, { officer: credentials['officer-wj']!, auditor: credentials['auditor']!, admin: credentials['admin']! });
    const exampleFile = join(dir, 'example.graphql');
    const query = exampleQuery(data);
    await writeFile(exampleFile, query);

    // The sharing workflow, through the hub's own API: applications in every state, and a consent.
    const today = hub.runtime.today();
    const applications = await seedApplications(hub.runtime.db, hub.url, credentials, today, async (id, submittedOn) => {
      await setSubmission(hub.runtime.db, id, new Date(`${submittedOn}T02:00:00Z`), addWorkingDays(hub.runtime.calendar, submittedOn, config.applications.deadlineWorkingDays));
    });
    const consentRef = await ensureDemoConsent(hub.url, credentials['portal']!, data, today);
    const faceFile = join(dir, 'face.graphql');
    await writeFile(faceFile, faceQuery(data, consentRef));

    const token = credentials['zw-yichuang'];
    options.out('');
    options.out(`一网共享 hub is serving ${hub.url} (GraphiQL in a browser)`);
    options.out(`Credentials (${credentialsFile}):`);
    for (const [name, t] of Object.entries(credentials)) options.out(`  ${name}: ${t}`);
    options.out(`Example query (${exampleFile}):`);
    options.out(query);
    options.out('Run it:');
    options.out(`  curl -s ${hub.url} -H 'content-type: application/json' -H "authorization: Bearer ${token}" \\`);
    options.out(`    --data "$(jq -Rs '{query: .}' ${exampleFile})"`);
    options.out(`Sample 最低生活保障 batch (token mz-dibao, purpose 440000-DIBAO-001): ${data.dibaoApplicants.slice(0, 4).join(', ')} …`);
    options.out(`Biometric example with the mother's consent ${consentRef} (token zw-yichuang): ${faceFile}`);
    options.out(applications
      ? `Sharing applications seeded: ${Object.entries(applications).map(([state, id]) => `${state} ${id}`).join(', ')}`
      : 'Sharing applications: kept from the previous run (query `applications` with an officer token).');
    options.out('Officers, admin, auditor and portal tokens are in the credentials file (README, "Data officers").');
    options.out(`Web console: ${hub.url.replace(/\/graphql$/, '/console/')} (one-click log-in for a data officer, the auditor and the admin)`);
    options.out(`Audit trail: ${hub.url.replace(/\/graphql$/, '/audit/checkpoint')} (signed checkpoint), ${hub.url.replace(/\/graphql$/, '/audit/key')} (verifier key)`);
    options.out(`Ctrl-C stops the hub, the department systems and MongoDB; data is kept in ${dir}.`);

    await new Promise<void>((resolveStop) => {
      const stop = () => resolveStop();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    options.out('Stopping …');
    await hub.close();
  } finally {
    await departments.close();
    await mongo.stop();
  }
}

async function issueDemoTokens(uri: string, database: string, file: string, systems: ReadonlyArray<{ code: string; department: string; name: string }>): Promise<Record<string, string>> {
  const previous = await readFile(file, 'utf8').then((text) => JSON.parse(text) as Record<string, string>, () => ({} as Record<string, string>));
  const client = new MongoClient(uri, hubClientOptions({ uri, database, timeoutMs: 10_000 }, { appName: 'yiwang-hub-demo', socketTimeoutMs: 30_000 }));
  try {
    await client.connect();
    const db = client.db(database);
    await ensureCredentialIndexes(db);
    const out: Record<string, string> = {};
    const principals: Array<[string, Principal, string]> = [];
    for (const code of DEMO_SYSTEMS) {
      const system = systems.find((s) => s.code === code);
      if (system) principals.push([code, { kind: 'system', id: system.code, department: system.department }, `demo: ${system.name}`]);
    }
    for (const [name, principal] of Object.entries(DEMO_PRINCIPALS)) principals.push([name, principal, `demo: ${principal.kind} ${principal.id}`]);
    for (const [name, principal, label] of principals) {
      const old = previous[name];
      out[name] = old && (await tokenValid(db, old)) ? old : await issueToken(db, principal, label);
    }
    return out;
  } finally {
    await client.close();
  }
}
