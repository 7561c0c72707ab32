/**
 * Starts the sample department systems on loopback with synthetic data: 公安 and 民政 as REST
 * services, 人社 and 医保 as MongoDB databases, 卫健 / 自然资源 / 市场监管 as files. Returns the
 * environment variables the demo catalogue's connectors.yaml reads.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import type { DemoData } from './data.ts';
import { startRestDepartment } from './systems/rest-department.ts';

export type RestDepartment = Awaited<ReturnType<typeof startRestDepartment>>;

export interface DepartmentSystems {
  readonly env: Readonly<Record<string, string>>;
  readonly gongan: RestDepartment;
  readonly minzheng: RestDepartment;
  readonly databases: { readonly renshe: string; readonly yibao: string };
  close(): Promise<void>;
}

export interface DepartmentOptions {
  readonly data: DemoData;
  readonly mongoUri: string;
  readonly filesDir: string;
  /** Prefix of the department databases (tests use a unique one and drop them). */
  readonly databasePrefix?: string;
  readonly gonganPort?: number;
  readonly minzhengPort?: number;
}

export async function startDepartments(options: DepartmentOptions): Promise<DepartmentSystems> {
  const { data } = options;
  const prefix = options.databasePrefix ?? 'dept_';
  const databases = { renshe: `${prefix}renshe`, yibao: `${prefix}yibao` };

  await mkdir(options.filesDir, { recursive: true });
  for (const [name, content] of Object.entries(data.files)) await writeFile(join(options.filesDir, name), content, 'utf8');

  const client = new MongoClient(options.mongoUri, { serverSelectionTimeoutMS: 10_000 });
  try {
    await client.connect();
    for (const role of ['renshe', 'yibao'] as const) {
      const db = client.db(databases[role]);
      for (const [collection, docs] of Object.entries(data.mongo[role])) {
        await db.collection(collection).deleteMany({});
        if (docs.length) await db.collection(collection).insertMany(docs.map((d) => ({ ...d })));
        await db.collection(collection).createIndex({ idNumber: 1 });
      }
    }
  } finally {
    await client.close();
  }

  const gongan = await startRestDepartment({ datasets: data.rest.gongan, port: options.gonganPort ?? 0 });
  let minzheng: RestDepartment;
  try {
    minzheng = await startRestDepartment({ datasets: data.rest.minzheng, port: options.minzhengPort ?? 0 });
  } catch (error) {
    await gongan.close();
    throw error;
  }
  return {
    env: {
      DEMO_GONGAN_URL: gongan.url,
      DEMO_MINZHENG_URL: minzheng.url,
      DEMO_DEPARTMENT_MONGODB_URI: options.mongoUri,
      DEMO_RENSHE_DATABASE: databases.renshe,
      DEMO_YIBAO_DATABASE: databases.yibao,
      DEMO_FILES_DIR: options.filesDir,
    },
    gongan,
    minzheng,
    databases,
    async close() {
      await Promise.allSettled([gongan.close(), minzheng.close()]);
    },
  };
}
