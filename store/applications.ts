/**
 * Sharing applications (共享申请) in MongoDB: the only module that reads or writes `applications`.
 */
import type { Collection, Db, Filter } from 'mongodb';
import type { Application, ApplicationStatus } from '../schema/index.ts';
import { paginate, type Page } from './pagination.ts';
import { changeVersioned, DURABLE, type HistoryInput } from './versioned.ts';

export const APPLICATIONS = 'applications';

const applicationsOf = (db: Db): Collection<Application> => db.collection<Application>(APPLICATIONS);

export async function ensureApplicationIndexes(db: Db): Promise<void> {
  await applicationsOf(db).createIndex({ id: 1 }, { unique: true, name: 'id' });
  await applicationsOf(db).createIndex({ provider: 1, status: 1, deadline: 1 }, { name: 'provider_status_deadline' });
  await applicationsOf(db).createIndex({ consumer: 1 }, { name: 'consumer' });
}

export async function insertApplication(db: Db, application: Application): Promise<void> {
  await applicationsOf(db).insertOne({ ...application }, DURABLE);
}

export async function getApplication(db: Db, id: string): Promise<Application | null> {
  return applicationsOf(db).findOne({ id }, { projection: { _id: 0 } });
}

export async function changeApplication(db: Db, current: Application, set: Partial<Application>, entry: HistoryInput): Promise<Application | null> {
  return changeVersioned(applicationsOf(db), current, set, entry);
}

export interface ApplicationFilter {
  readonly consumer?: string | null;
  readonly provider?: string | null;
  readonly resource?: string | null;
  readonly status?: ApplicationStatus | null;
  /** Only pending applications whose deadline has passed (deadline < today). */
  readonly overdueBefore?: string | null;
}

export async function listApplications(
  db: Db,
  visible: Filter<Application>,
  filter: ApplicationFilter,
  order: 'id' | 'deadline',
  first: number,
  after?: string | null,
): Promise<Page<Application>> {
  const where: Record<string, unknown> = {};
  for (const key of ['consumer', 'provider', 'resource', 'status'] as const) if (filter[key]) where[key] = filter[key];
  if (filter.overdueBefore) {
    where['status'] = 'pending';
    where['deadline'] = { $lt: filter.overdueBefore };
  }
  const query = { $and: [visible, where] } as Filter<Application>;
  return paginate(applicationsOf(db), query, { sortField: order, direction: 1, first, after });
}

/**
 * Sets an application's submission date and deadline. For the demo's overdue example only: the
 * API always stamps the real submission time.
 */
export async function setSubmission(db: Db, id: string, submittedAt: Date, deadline: string): Promise<void> {
  await applicationsOf(db).updateOne({ id }, { $set: { submittedAt, deadline, 'history.0.at': submittedAt } }, DURABLE);
}
