// The built single-page application in memory: index.html and its content-hashed assets, with their headers.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `build.mjs` writes the console (next to this package's sources). */
export const DEFAULT_DIST_DIR = fileURLToPath(new URL('../dist', import.meta.url));

/**
 * Only this origin, no inline script or style, no framing, no plugins; `connect-src 'self'` keeps every
 * request the page makes on the server that served it.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers every console, landing and docs response carries. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
};

export const IMMUTABLE = 'public, max-age=31536000, immutable';
export const REVALIDATE = 'no-cache';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

export interface ConsoleFile {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

export interface ConsoleAssets {
  readonly index: ConsoleFile;
  /** By file name under `assets/`; names carry their content hash, so they never change meaning. */
  readonly assets: ReadonlyMap<string, ConsoleFile>;
}

function fileOf(body: Buffer, contentType: string): ConsoleFile {
  return { body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

/** Reads the build; undefined when it is absent (the routes then answer ERR_CONSOLE_NOT_BUILT). */
export function loadConsoleAssets(distDir: string = DEFAULT_DIST_DIR): ConsoleAssets | undefined {
  const indexPath = join(distDir, 'index.html');
  const assetsDir = join(distDir, 'assets');
  if (!existsSync(indexPath) || !existsSync(assetsDir)) return undefined;
  const assets = new Map<string, ConsoleFile>();
  for (const name of readdirSync(assetsDir)) {
    const type = CONTENT_TYPES[extname(name)];
    if (type) assets.set(name, fileOf(readFileSync(join(assetsDir, name)), type));
  }
  return { index: fileOf(readFileSync(indexPath), 'text/html; charset=utf-8'), assets };
}
