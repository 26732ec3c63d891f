/**
 * Mime types by file suffix: lws's built-in table plus common types it
 * lacks. A file whose suffix is in neither this table nor the mount's extra
 * types is not served by a mount (as lws does), so nothing unexpected leaks.
 */
const BUILTIN: Readonly<Record<string, string>> = {
  '.ico': 'image/x-icon',
  '.gif': 'image/gif',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gz': 'application/gzip',
  '.html': 'text/html',
  '.htm': 'text/html',
  '.css': 'text/css',
  '.txt': 'text/plain',
  '.svg': 'image/svg+xml',
  '.ttf': 'application/x-font-ttf',
  '.otf': 'application/font-woff',
  '.woff': 'application/font-woff',
  '.woff2': 'font/woff2',
  '.xml': 'application/xml',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.pdf': 'application/pdf',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
  '.wav': 'audio/wav',
  '.zip': 'application/zip',
  '.bin': 'application/octet-stream',
  '.md': 'text/markdown',
  '.csv': 'text/csv',
};

/**
 * The mime type for `file`: `extra`'s entry for its suffix, then the
 * built-in table, then `extra['*']` (the fallback for anything else).
 * Undefined when unknown; `''` means "known, send no content-type".
 */
export function getMimetype(file: string, extra?: Readonly<Record<string, string>>): string | undefined {
  const slash = file.lastIndexOf('/');
  const dot = file.lastIndexOf('.');
  const suffix = dot > slash ? file.slice(dot).toLowerCase() : '';
  if (extra && suffix) {
    for (const k of Object.keys(extra)) if (k !== '*' && (k.startsWith('.') ? k : '.' + k).toLowerCase() === suffix) return extra[k];
  }
  const builtin = suffix ? BUILTIN[suffix] : undefined;
  if (builtin !== undefined) return builtin;
  // '*' is the fallback for what nothing else names (as in lws, where the
  // built-in table is checked first): it must not turn .html into its type.
  return extra?.['*'];
}
