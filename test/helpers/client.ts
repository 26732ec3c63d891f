/**
 * Client test plumbing: a protocol that records every callback a client
 * wsi gets (and lets a test act on them), a client-only context, and a
 * tiny hand-written WebSocket server for answers `ws` would never give.
 * Every wait here is bounded.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pki, Issued } from './pki.js';
import { createContext, Reason, type Context, type Protocol, type Wsi, type CallbackInput } from '../../src/index.js';

export interface Event {
  wsi: Wsi;
  reason: Reason;
  input: CallbackInput;
}

export interface Message {
  data: Buffer;
  binary: boolean;
}

type Handler = (wsi: Wsi, reason: Reason, input: CallbackInput) => number | void;

/** Records callbacks; `on` lets a test answer them. */
export class Recorder {
  events: Event[] = [];
  messages: Message[] = [];
  #parts: Buffer[] = [];
  on: Handler = () => {};
  readonly protocol: Protocol;

  constructor(name = 'test-client') {
    this.protocol = {
      name,
      callback: (wsi, reason, _user, input) => {
        // Buffers handed to callbacks may be reused: copy what we keep.
        const kept = input instanceof Uint8Array ? Buffer.from(input) : input;
        this.events.push({ wsi, reason, input: kept });
        if (reason === Reason.CLIENT_RECEIVE) {
          this.#parts.push(Buffer.from(input));
          if (wsi.isFinalFragment()) {
            this.messages.push({ data: Buffer.concat(this.#parts), binary: wsi.frameIsBinary() });
            this.#parts = [];
          }
        }
        return this.on(wsi, reason, input);
      },
    };
  }

  reasons(wsi?: Wsi): Reason[] {
    return this.events.filter((e) => !wsi || e.wsi === wsi).map((e) => e.reason);
  }

  has(reason: Reason): boolean {
    return this.events.some((e) => e.reason === reason);
  }

  first(reason: Reason): Event | undefined {
    return this.events.find((e) => e.reason === reason);
  }

  /** Resolve once `pred` holds; reject after `ms` naming what was awaited. */
  async until(pred: () => boolean, what: string, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; got ${this.events.map((e) => Reason[e.reason]).join(', ')}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/** A context that only makes client connections. */
export function clientContext(rec: Recorder): Context {
  return createContext({ protocols: [rec.protocol] });
}

export function acceptOf(key: string): string {
  return createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
}

export interface FakeServer {
  server: Server;
  port: number;
  /** Sockets accepted, with what each sent after its request head. */
  conns: Array<{ socket: Socket; request: string; after: Buffer[] }>;
  close(): Promise<void>;
}

/**
 * A TCP server that reads a request head and answers with `answer(head)`
 * (or nothing when it returns null), then records what the client sends.
 */
export async function fakeServer(answer: (head: string) => string | Buffer | null): Promise<FakeServer> {
  const conns: FakeServer['conns'] = [];
  const server = createServer((socket) => {
    let buf = Buffer.alloc(0);
    let entry: FakeServer['conns'][number] | null = null;
    socket.on('error', () => {});
    socket.on('data', (d) => {
      if (entry) {
        entry.after.push(d);
        return;
      }
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.toString('latin1', 0, end + 4);
      entry = { socket, request: head, after: [] };
      conns.push(entry);
      if (buf.length > end + 4) entry.after.push(buf.subarray(end + 4));
      const a = answer(head);
      if (a !== null) socket.write(a);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    server, port, conns,
    close: () => new Promise<void>((r) => {
      for (const c of conns) c.socket.destroy();
      server.close(() => r());
    }),
  };
}

/** The `Sec-WebSocket-Key` of a request head. */
export function keyOf(head: string): string {
  return /sec-websocket-key: *(\S+)/i.exec(head)?.[1] ?? '';
}

/** A correct 101 for `head`, plus `extra` header lines. */
export function good101(head: string, extra = ''): string {
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptOf(keyOf(head))}\r\n${extra}\r\n`;
}

export interface RawFrame {
  fin: boolean;
  opcode: number;
  masked: boolean;
  mask: Buffer | null;
  payload: Buffer;
}

/** Decode complete frames from bytes a client sent (unmasking them). */
export function decodeFrames(buf: Buffer): RawFrame[] {
  const out: RawFrame[] = [];
  let p = 0;
  while (p + 2 <= buf.length) {
    const b0 = buf[p];
    const b1 = buf[p + 1];
    let len = b1 & 0x7f;
    let q = p + 2;
    if (len === 126) { len = buf.readUInt16BE(q); q += 2; }
    else if (len === 127) { len = Number(buf.readBigUInt64BE(q)); q += 8; }
    const masked = (b1 & 0x80) !== 0;
    const mask = masked ? buf.subarray(q, q + 4) : null;
    if (masked) q += 4;
    if (q + len > buf.length) break;
    const payload = Buffer.from(buf.subarray(q, q + len));
    if (mask) for (let i = 0; i < len; i++) payload[i] ^= mask[i & 3];
    out.push({ fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, masked, mask: mask ? Buffer.from(mask) : null, payload });
    p = q + len;
  }
  return out;
}

/** An unmasked server frame. */
export function serverFrame(opcode: number, payload: Buffer | string, masked = false): Buffer {
  const p = Buffer.from(payload);
  if (p.length > 125) throw new Error('serverFrame: small payloads only');
  if (!masked) return Buffer.concat([Buffer.from([0x80 | opcode, p.length]), p]);
  const m = Buffer.from([1, 2, 3, 4]);
  const x = Buffer.from(p.map((b, i) => b ^ m[i & 3]));
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | p.length]), m, x]);
}

// ---- certificates beyond test/pki.ts: expired ones and revocation lists ----

/** An `openssl ca` working directory for the pki's CA (index, serial, config). */
function caConfig(pki: Pki): string {
  const cnf = join(pki.dir, 'ca.cnf');
  if (!existsSync(cnf)) {
    writeFileSync(join(pki.dir, 'index.txt'), '');
    writeFileSync(join(pki.dir, 'serial'), '1000\n');
    writeFileSync(join(pki.dir, 'crlnumber'), '01\n');
    writeFileSync(cnf, [
      '[ca]', 'default_ca = d', '[d]', `dir = ${pki.dir}`, 'database = $dir/index.txt', 'new_certs_dir = $dir',
      'serial = $dir/serial', 'crlnumber = $dir/crlnumber', 'default_md = sha256', 'policy = p', 'unique_subject = no',
      'default_crl_days = 2', '[p]', 'commonName = supplied', '',
    ].join('\n'));
  }
  return cnf;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A server certificate for `cn` (and 127.0.0.1) signed by the pki's CA whose validity ended in 2020. */
export function expiredLeaf(pki: Pki, cn: string): Issued {
  const cnf = caConfig(pki);
  const b = join(pki.dir, `expired-${cn}`);
  writeFileSync(`${b}.ext`, `subjectAltName=DNS:${cn},IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${cn}`,
    '-keyout', `${b}.key.pem`, '-out', `${b}.csr`]);
  openssl(['ca', '-batch', '-config', cnf, '-cert', pki.ca.certPath, '-keyfile', pki.ca.keyPath, '-in', `${b}.csr`,
    '-out', `${b}.pem`, '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-extfile', `${b}.ext`, '-notext']);
  return { certPath: `${b}.pem`, keyPath: `${b}.key.pem`, cert: readFileSync(`${b}.pem`), key: readFileSync(`${b}.key.pem`) };
}

/** The CA's CRL (PEM file path) listing `revoked` (none when empty). */
export function crlOf(pki: Pki, revoked: Issued[]): string {
  const cnf = caConfig(pki);
  for (const r of revoked) openssl(['ca', '-batch', '-config', cnf, '-cert', pki.ca.certPath, '-keyfile', pki.ca.keyPath, '-revoke', r.certPath]);
  const out = join(pki.dir, `crl-${revoked.length}-${Date.now()}.pem`);
  openssl(['ca', '-batch', '-config', cnf, '-cert', pki.ca.certPath, '-keyfile', pki.ca.keyPath, '-gencrl', '-out', out]);
  return out;
}
