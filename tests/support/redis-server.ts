/**
 * Whether the Redis of the rate-limit tests answers (REDIS_URL, default redis://127.0.0.1:6379):
 * a PING within 2 s. Exit 0 when it does; otherwise a line saying what to do, exit 1. Run by .ci/run.
 */
import { Redis } from 'ioredis';

const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const redis = new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
redis.on('error', () => undefined); // reported below, once
const timer = setTimeout(() => {
  console.error(`Redis at ${new URL(url).host} did not answer within 2 s`);
  process.exit(1);
}, 2000);
try {
  await redis.connect();
  await redis.ping();
  clearTimeout(timer);
  console.log(`Redis at ${new URL(url).host}: answers`);
  redis.disconnect();
} catch (error) {
  clearTimeout(timer);
  console.error(`Redis at ${new URL(url).host} does not answer (${error instanceof Error ? error.message : String(error)}); the rate-limit tests need it: install and start redis-server, or set REDIS_URL`);
  redis.disconnect();
  process.exit(1);
}
