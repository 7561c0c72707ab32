/**
 * The console's static files (console/dist, built by `npm run build:console`) under /console/.
 * Hashed assets (/console/assets/*) are cached for a year; index.html never is, so a new build is
 * picked up at the next load. Paths are resolved inside the build directory only: `..`, encoded
 * slashes, NUL bytes and dot-files are refused. Every other path under /console/ is the app itself
 * (the app routes by the URL's hash, so this only catches typing mistakes).
 *
 * Each file is read once and kept in memory (read again when its size or modification time
 * changes: a new build), with a strong ETag; a request whose If-None-Match names it gets 304 (the
 * app's page is revalidated at every load). Text files (HTML, scripts, styles, JSON, SVG) of 1 KiB
 * and more are sent compressed where the browser accepts it (brotli, else gzip; `Vary:
 * Accept-Encoding`), each encoding made once, off the event loop: the console's script is ≈ 1.1 MB
 * as built, ≈ 0.3 MB compressed, for data officers and auditors on county networks.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import fresh from 'fresh';
import Negotiator from 'negotiator';

export const CONSOLE_DIST = resolve(fileURLToPath(import.meta.url), '../../../console/dist');

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
};

/** Headers on every console page and file: no framing, no sniffing, nothing loaded from elsewhere. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface StaticFiles {
  /** Whether the build exists (index.html is there). */
  built(): Promise<boolean>;
  /**
   * The response for a GET/HEAD of a path under /console/, the part after it given ('' = the app);
   * `request`: its method and headers (If-None-Match, Accept-Encoding).
   */
  serve(relative: string, request: Pick<Request, 'method' | 'headers'>): Promise<Response>;
}

/** Types worth compressing (the rest, images and fonts, are compressed already). */
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.svg', '.txt']);
/** Below this, compression saves less than its headers and work cost. */
const COMPRESS_FROM = 1024;
/** Files above this are served from disk each time rather than kept (none of a console build is). */
const KEEP_BELOW = 16 * 1024 * 1024;

type Encoding = 'br' | 'gzip';
const ENCODINGS: readonly string[] = ['br', 'gzip', 'identity'];
/** negotiator 1.x takes the server's order for encodings the client accepts equally (its types are 0.6's). */
interface PreferringNegotiator {
  encoding(available: readonly string[], options: { preferred: readonly string[] }): string | undefined;
}
const brotli = promisify(brotliCompress);
const gzipped = promisify(gzip);

/** A file as read: its bytes, what identifies that version, and its compressed forms once made. */
interface Kept {
  readonly mtimeMs: number;
  readonly size: number;
  readonly body: Buffer;
  /** Strong, of the bytes: `"<22 characters of their SHA-256>"`; a compressed form adds `-br`/`-gz`. */
  readonly etag: string;
  readonly encoded: Map<Encoding, Promise<Buffer>>;
}

const encode = (body: Buffer, encoding: Encoding): Promise<Buffer> =>
  encoding === 'br'
    ? brotli(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 9, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } })
    : gzipped(body, { level: 9 });

export function staticFiles(dir = CONSOLE_DIST): StaticFiles {
  const root = resolve(dir);
  const kept = new Map<string, Kept>();
  const built = () => stat(join(root, 'index.html')).then((s) => s.isFile(), () => false);

  /** The file's current bytes, from memory when it has not changed since; null when it is not a file. */
  const read = async (path: string): Promise<Kept | null> => {
    try {
      const info = await stat(path);
      if (!info.isFile()) {
        kept.delete(path);
        return null;
      }
      const known = kept.get(path);
      if (known && known.mtimeMs === info.mtimeMs && known.size === info.size) return known;
      const body = await readFile(path);
      const file: Kept = { mtimeMs: info.mtimeMs, size: info.size, body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`, encoded: new Map() };
      if (body.length < KEEP_BELOW) kept.set(path, file);
      return file;
    } catch {
      kept.delete(path); // gone with an older build
      return null;
    }
  };

  const file = async (path: string, request: Pick<Request, 'method' | 'headers'>, cache: string): Promise<Response | null> => {
    const found = await read(path);
    if (!found) return null;
    const ext = extname(path).toLowerCase();
    const type = TYPES[ext] ?? 'application/octet-stream';
    const compressible = COMPRESSIBLE.has(ext) && found.body.length >= COMPRESS_FROM;
    const chosen = compressible ? (new Negotiator({ headers: { 'accept-encoding': request.headers.get('accept-encoding') ?? undefined } }) as PreferringNegotiator).encoding(ENCODINGS, { preferred: ENCODINGS }) : 'identity';
    const encoding: Encoding | undefined = chosen === 'br' || chosen === 'gzip' ? chosen : undefined;
    const etag = encoding ? `${found.etag.slice(0, -1)}-${encoding === 'br' ? 'br' : 'gz'}"` : found.etag;
    const headers: Record<string, string> = { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': cache, etag, ...(compressible ? { vary: 'Accept-Encoding' } : {}) };
    const conditional = { 'if-none-match': request.headers.get('if-none-match') ?? undefined, 'cache-control': request.headers.get('cache-control') ?? undefined };
    if (fresh(conditional, { etag })) return new Response(null, { status: 304, headers });
    let body = found.body;
    if (encoding) {
      let made = found.encoded.get(encoding);
      if (!made) {
        made = encode(found.body, encoding);
        found.encoded.set(encoding, made);
        made.catch(() => found.encoded.delete(encoding));
      }
      body = await made;
      headers['content-encoding'] = encoding;
    }
    headers['content-length'] = String(body.length);
    // The kept bytes as they are (a Buffer is a Uint8Array; Response copies nothing it is given).
    return new Response(request.method === 'HEAD' ? null : (body as Uint8Array<ArrayBuffer>), { headers });
  };

  return {
    built,
    async serve(relative, request) {
      const segments = relative.split('/').filter((s) => s !== '');
      if (segments.length > 0 && segments.every((s) => SEGMENT.test(s))) {
        const path = resolve(root, ...segments);
        if (path.startsWith(root + sep)) {
          const immutable = segments[0] === 'assets';
          const found = await file(path, request, immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
          if (found) return found;
          // A missing asset is a 404, not the app: a stale page asking for an old build's file must see it.
          if (immutable || extname(path) !== '') return notFound();
        }
      } else if (segments.length > 0) {
        return notFound();
      }
      const index = await file(join(root, 'index.html'), request, 'no-cache');
      return index ?? notBuilt();
    },
  };
}

function notFound(): Response {
  return new Response('Not found.\n', { status: 404, headers: { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' } });
}

/** What the hub answers at /console when the console was not built. */
export function notBuilt(): Response {
  return new Response(
    'The web console is not built on this hub.\nRun `npm run build:console` (npm install does it through the `prepare` script), then reload.\n',
    { status: 503, headers: { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' } },
  );
}
