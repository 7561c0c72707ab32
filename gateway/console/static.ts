/**
 * The console's static files (console/dist, built by `npm run build:console`) under /console/.
 * Hashed assets (/console/assets/*) are cached for a year; index.html never is, so a new build is
 * picked up at the next load. Paths are resolved inside the build directory only: `..`, encoded
 * slashes, NUL bytes and dot-files are refused. Every other path under /console/ is the app itself
 * (the app routes by the URL's hash, so this only catches typing mistakes).
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  /** The response for a GET/HEAD of a path under /console/, the part after it given ('' = the app). */
  serve(relative: string, head: boolean): Promise<Response>;
}

export function staticFiles(dir = CONSOLE_DIST): StaticFiles {
  const root = resolve(dir);
  const built = () => stat(join(root, 'index.html')).then((s) => s.isFile(), () => false);
  const file = async (path: string, head: boolean, cache: string): Promise<Response | null> => {
    let body: Buffer;
    try {
      const info = await stat(path);
      if (!info.isFile()) return null;
      body = head ? Buffer.alloc(0) : await readFile(path);
    } catch {
      return null;
    }
    const type = TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
    return new Response(head ? null : new Uint8Array(body), { headers: { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': cache } });
  };
  return {
    built,
    async serve(relative, head) {
      const segments = relative.split('/').filter((s) => s !== '');
      if (segments.length > 0 && segments.every((s) => SEGMENT.test(s))) {
        const path = resolve(root, ...segments);
        if (path.startsWith(root + sep)) {
          const immutable = segments[0] === 'assets';
          const found = await file(path, head, immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
          if (found) return found;
          // A missing asset is a 404, not the app: a stale page asking for an old build's file must see it.
          if (immutable || extname(path) !== '') return notFound();
        }
      } else if (segments.length > 0) {
        return notFound();
      }
      const index = await file(join(root, 'index.html'), head, 'no-cache');
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
