import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { encodeBlock, subjectHash, type AccessRecord } from './audit/index.ts';

const dir = mkdtempSync('/tmp/fdb-');
const port = 27000 + Math.floor(Math.random() * 1000);
const child = spawn('.cache/ferretdb-v1.24.2/ferretdb', [`--listen-addr=127.0.0.1:${port}`, '--handler=sqlite', `--sqlite-url=file:${dir}/`, '--telemetry=disable', '--log-level=error'], { stdio: 'ignore' });
const cpu = () => { const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
await new Promise((r) => setTimeout(r, 1500));
const client = await MongoClient.connect(`mongodb://127.0.0.1:${port}/`);
const db = client.db('x');
const key = randomBytes(32);
function recs(n: number, from: number): AccessRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const req = Math.floor((from + i) / 3);
    return {
      at: new Date(), day: '2026-12-07', requestId: `bench-one-${req}-abcdef`, action: 'read', system: 'mz-dibao', department: 'MZ', principalKind: 'system', operator: 'mz-op-07', purpose: '440000-DIBAO-001', caseId: `DB-2026-${100000 + req}`,
      resource: ['GA-HUKOU', 'MZ-MARRIAGE', 'RS-SOCIAL'][(from + i) % 3]!, provider: 'GA', subjectType: 'person', subject: subjectHash(key, `4401061990010${1000 + (req % 9000)}`),
      itemsReturned: ['birthDate', 'gender', 'name'], itemsMasked: ['address'], itemsRefused: [], itemsVerified: [], grants: [{ id: 'G-2026-0001', version: 3 }], decision: 'allow', code: null, denial: null, reason: null, consent: null, attempt: null,
    };
  });
}
const variants: Record<string, (d: Record<string, unknown>) => object> = {
  full: (d) => d,
  noKeys: ({ keys: _, ...d }) => d,
  noTally: ({ tally: _, ...d }) => d,
  noKeysTally: ({ keys: _, tally: __, ...d }) => d,
  noLeaves: ({ leaves: _, ...d }) => d,
  keysJoined: ({ keys, ...d }) => ({ ...d, keys: (keys as string[]).join('\n') }),
};
for (const size of [1, 20]) {
  const base = Array.from({ length: 300 }, (_, b) => encodeBlock('bench/x', b * size, recs(size, b * size)).doc as unknown as Record<string, unknown>);
  console.log(size, 'keys', (base[0]!['keys'] as string[]).length, 'tally', (base[0]!['tally'] as unknown[]).length);
  for (let round = 0; round < 3; round++) {
    for (const [name, f] of Object.entries(variants)) {
      const c = db.collection(`c_${name}_${size}_${round}`);
      await c.insertOne({ warm: 1 });
      const docs = base.map((d) => f({ ...d }));
      const c0 = cpu(); const t0 = performance.now();
      for (const d of docs) await c.insertOne({ ...d });
      const ms = performance.now() - t0; const us = (cpu() - c0) * 1000 / docs.length;
      console.log(size, name.padEnd(12), 'server µs/insert', us.toFixed(0), 'wall', (ms * 1000 / docs.length).toFixed(0));
    }
  }
  for (let round = 0; round < 2; round++) {
    const c = db.collection(`claims_${size}_${round}`); await c.insertOne({ warm: 1 });
    const c0 = cpu();
    for (let i = 0; i < 300; i++) await c.insertOne({ _id: `v|zw-yichuang|WJ-BIRTH-CERT|${subjectHash(key, String(i))}|2026-12-07#${i}` as never, day: '2026-12-07' });
    console.log('claim doc µs/insert', ((cpu() - c0) * 1000 / 300).toFixed(0));
  }
}
await client.close(); child.kill();
