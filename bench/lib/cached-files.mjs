/**
 * The "node-cached" reference handler: every file of a directory read into
 * a Buffer once at startup and answered from memory (never looks at the
 * disk again, so a changed file is served stale). The upper bound for a
 * Node server; used with node:http and node:https alike.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';

export const MIME = { '.txt': 'text/plain', '.bin': 'application/octet-stream', '.html': 'text/html' };

/** A (req, res) handler serving the files of `root` with a known MIME type from memory. */
export function cachedFilesHandler(root) {
  const files = new Map();
  for (const name of readdirSync(root)) {
    const type = MIME[extname(name)];
    if (type) files.set('/' + name, { type, buf: readFileSync(join(root, name)) });
  }
  return (req, res) => {
    const f = files.get(req.url);
    if (!f) {
      res.writeHead(404, { 'content-length': 0 });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': f.type, 'content-length': f.buf.length });
    res.end(f.buf);
  };
}
