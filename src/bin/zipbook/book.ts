/**
 * The small illustrated book lws-test-server serves from inside a zip at
 * /ziptest/ (lws serves Candide there): our own text, a generated PNG and
 * SVG, the HTML deflated and the PNG stored, so both kinds of member are
 * exercised.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeZip, type ZipInput } from '../../zip/writer.js';
import { makePng } from './png.js';

const CHAPTERS: Array<[string, string[]]> = [
  ['The socket that waited', [
    'A socket sat at the edge of the kernel, holding sixty-four kilobytes of another machine\'s patience.',
    'It did not write when it pleased. It wrote when the peer could take more, and not one byte sooner.',
    'This is the first rule of the event loop, and the socket knew it the way a river knows its banks.',
  ]],
  ['The mount and the archive', [
    'Below the slash called /ziptest lay not a directory but an archive, and inside it this very page.',
    'When the browser said it understood gzip, the server sent the deflated bytes as they were stored, wrapped in ten bytes of header and eight of trailer.',
    'When it did not, the server inflated them a few kilobytes at a time, never more than the socket could hold.',
  ]],
  ['The peer is the boss', [
    'Every buffer had a limit, and every wait a timeout. A slow reader cost the server little; a bad one cost it nothing else.',
    'And so the page you are reading arrived, one writeable callback at a time.',
  ]],
];

function page(): string {
  let body = '';
  for (const [i, [title, paras]] of CHAPTERS.entries()) {
    body += `<h2>Chapter ${i + 1}: ${title}</h2>\n`;
    for (const p of paras) body += `<p>${p}</p>\n`;
    if (i === 0) body += '<p><img src="images/waves.png" alt="generated waves" width="320" height="160"></p>\n';
    if (i === 1) body += '<p><img src="images/sockets.svg" alt="two sockets" width="320" height="120"></p>\n';
  }
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>The Writeable Callback</title>
<link rel="stylesheet" href="book.css"></head>
<body><h1>The Writeable Callback</h1>
<p class="note">Served from inside a zip archive by tslws.</p>
${body}</body></html>
`;
}

const CSS = 'body{font-family:Georgia,serif;max-width:40em;margin:2em auto;line-height:1.5}h2{margin-top:2em}.note{color:#666}\n';

const SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="120" viewBox="0 0 320 120">
<rect x="10" y="30" width="100" height="60" rx="8" fill="#2a6" /><text x="60" y="65" text-anchor="middle" fill="#fff" font-size="14">client</text>
<rect x="210" y="30" width="100" height="60" rx="8" fill="#26a" /><text x="260" y="65" text-anchor="middle" fill="#fff" font-size="14">server</text>
<path d="M110 50 L210 50" stroke="#333" stroke-width="3" /><path d="M210 70 L110 70" stroke="#999" stroke-width="3" stroke-dasharray="6 4" />
</svg>
`;

/** The book's members. */
export function bookEntries(): ZipInput[] {
  const waves = makePng(320, 160, (x, y) => {
    const v = Math.sin(x / 17) * 30 + Math.cos((x + y) / 23) * 20 + 80;
    const on = Math.abs(y - v) < 3;
    return on ? [20, 60, 160] : [235 - (y >> 2), 240 - (x >> 4), 250];
  });
  return [
    { name: 'book.html', data: Buffer.from(page()) },
    { name: 'book.css', data: Buffer.from(CSS) },
    { name: 'images/sockets.svg', data: Buffer.from(SVG) },
    // Already compressed: stored, as zip tools store such files.
    { name: 'images/waves.png', data: waves, store: true },
  ];
}

/** Write the book's archive to `path` (atomically: a reader never sees half of it). */
export function writeBook(path: string): void {
  writeAtomically(path, writeZip(bookEntries()));
}

/**
 * The book's archive in `dir`, named by a hash of its bytes and written
 * only when missing: a running server never has its archive replaced under
 * it, and servers of different versions sharing one cache each find their
 * own book. Throws if `dir` cannot be written.
 */
export function cachedBook(dir: string): string {
  const zip = writeZip(bookEntries());
  const path = join(dir, `book-${createHash('sha256').update(zip).digest('hex').slice(0, 16)}.zip`);
  if (!existsSync(path)) writeAtomically(path, zip);
  return path;
}

function writeAtomically(path: string, data: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
