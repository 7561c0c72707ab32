/**
 * The console's static files (gateway/console/static.ts) as a browser meets them: text sent
 * compressed in the encoding it prefers among those it accepts, a version named by its ETag and
 * revalidated with 304, a new build served at once, and nothing compressed that should not be.
 */
import { mkdtemp, mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticFiles, type StaticFiles } from '../../gateway/console/static.ts';

const get = (headers: Record<string, string> = {}, method = 'GET') => ({ method, headers: new Headers(headers) });
const script = Array.from({ length: 4000 }, (_, i) => `export const value${i} = ${JSON.stringify(`控制台 ${i}`)};`).join('\n');

describe('the console\'s static files', () => {
  let dir: string;
  let files: StaticFiles;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'console-static-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>一网共享</title><script type="module" src="/console/assets/app.js"></script>');
    await writeFile(join(dir, 'assets', 'app.js'), script);
    await writeFile(join(dir, 'assets', 'small.css'), 'body{margin:0}');
    await writeFile(join(dir, 'assets', 'logo.png'), Buffer.alloc(4096, 7));
    files = staticFiles(dir);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const decoded = async (res: Response): Promise<string> => {
    const body = Buffer.from(await res.arrayBuffer());
    const encoding = res.headers.get('content-encoding');
    return (encoding === 'br' ? brotliDecompressSync(body) : encoding === 'gzip' ? gunzipSync(body) : body).toString('utf8');
  };

  it('sends a script in the encoding the browser prefers among those it accepts, brotli first, and the same text', async () => {
    const cases: Array<[string | undefined, string | null]> = [
      ['gzip, deflate, br, zstd', 'br'],
      ['gzip, deflate', 'gzip'],
      ['br;q=0, gzip', 'gzip'],
      ['gzip;q=0.5, br;q=0.2', 'gzip'],
      ['identity', null],
      [undefined, null],
    ];
    for (const [accept, expected] of cases) {
      const res = await files.serve('assets/app.js', get(accept === undefined ? {} : { 'accept-encoding': accept }));
      expect({ accept, encoding: res.headers.get('content-encoding'), vary: res.headers.get('vary') }).toEqual({ accept, encoding: expected, vary: 'Accept-Encoding' });
      expect(await decoded(res)).toBe(script);
    }
    const br = await files.serve('assets/app.js', get({ 'accept-encoding': 'br' }));
    expect(Number(br.headers.get('content-length'))).toBeLessThan(Buffer.byteLength(script) / 4);
  });

  it('leaves small files and images as they are', async () => {
    for (const path of ['assets/small.css', 'assets/logo.png']) {
      const res = await files.serve(path, get({ 'accept-encoding': 'gzip, br' }));
      await res.arrayBuffer();
      expect({ path, encoding: res.headers.get('content-encoding'), vary: res.headers.get('vary') }).toEqual({ path, encoding: null, vary: null });
    }
  });

  it('answers 304 without a body to a request naming the version it has, per encoding', async () => {
    const first = await files.serve('assets/app.js', get({ 'accept-encoding': 'gzip' }));
    await first.arrayBuffer();
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{22}-gz"$/);
    const again = await files.serve('assets/app.js', get({ 'accept-encoding': 'gzip', 'if-none-match': etag }));
    expect({ status: again.status, body: await again.text(), etag: again.headers.get('etag') }).toEqual({ status: 304, body: '', etag });
    // The uncompressed version is another: its own ETag, and a full answer to the other's.
    const plain = await files.serve('assets/app.js', get({ 'if-none-match': etag }));
    expect({ status: plain.status, etag: plain.headers.get('etag') }).toEqual({ status: 200, etag: etag.replace('-gz"', '"') });
    await plain.arrayBuffer();
    // The app's page, never cached, is revalidated so at every load.
    const page = await files.serve('', get());
    await page.arrayBuffer();
    const revalidated = await files.serve('', get({ 'if-none-match': page.headers.get('etag')! }));
    expect({ status: revalidated.status, cache: revalidated.headers.get('cache-control') }).toEqual({ status: 304, cache: 'no-cache' });
  });

  it('serves a new build at once: a changed file is read again, with a new ETag', async () => {
    await writeFile(join(dir, 'assets', 'next.js'), script);
    const before = await files.serve('assets/next.js', get({ 'accept-encoding': 'br' }));
    await before.arrayBuffer();
    const changed = `${script}\nexport const rebuilt = true;`;
    await writeFile(join(dir, 'assets', 'next.js'), changed);
    const later = new Date(Date.now() + 5_000);
    await utimes(join(dir, 'assets', 'next.js'), later, later);
    const after = await files.serve('assets/next.js', get({ 'accept-encoding': 'br', 'if-none-match': before.headers.get('etag')! }));
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(before.headers.get('etag'));
    expect(await decoded(after)).toBe(changed);
  });

  it('answers HEAD with the headers and no body', async () => {
    const res = await files.serve('assets/app.js', get({ 'accept-encoding': 'gzip' }, 'HEAD'));
    expect({ status: res.status, type: res.headers.get('content-type'), encoding: res.headers.get('content-encoding'), body: await res.text() })
      .toEqual({ status: 200, type: 'text/javascript; charset=utf-8', encoding: 'gzip', body: '' });
  });
});
