import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIP } from 'node:net';
import { ErrorCode, rangeError, typeError } from '../core/errors.js';

/**
 * A self-signed ECDSA P-256 certificate made with node:crypto alone (no
 * openssl binary): what the test server uses for `-s` when no certificate
 * is given. DER is written by hand; only the few ASN.1 types a
 * certificate needs are supported.
 */
export interface SelfSignedOptions {
  /** Subject and issuer CN. Default `localhost`. */
  commonName?: string;
  /** subjectAltName DNS names. Default `[commonName]`. */
  dnsNames?: string[];
  /** subjectAltName IP addresses. Default `['127.0.0.1', '::1']`. */
  ipAddresses?: string[];
  /** Validity in days from now. Default 365. */
  days?: number;
}

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
}

const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const set = (...c: Buffer[]) => tlv(0x31, ...c);

function oid(dotted: string): Buffer {
  const p = dotted.split('.').map(Number);
  const out = [40 * p[0] + p[1]];
  for (const v of p.slice(2)) {
    const b = [v & 0x7f];
    for (let x = Math.floor(v / 128); x > 0; x = Math.floor(x / 128)) b.unshift(0x80 | (x & 0x7f));
    out.push(...b);
  }
  return tlv(0x06, Buffer.from(out));
}

function utcTime(d: Date): Buffer {
  // UTCTime covers 1950-2049; GeneralizedTime after (RFC 5280 4.1.2.5).
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso));
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  // A dotted IPv4 last part (`::ffff:127.0.0.1`) is the last two groups.
  const v4 = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (v4) {
    const [a, b, c, d] = v4.slice(2).map(Number);
    ip = `${v4[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

/** Make a self-signed certificate and its key, both PEM. */
export function makeSelfSignedCert(o: SelfSignedOptions = {}): { cert: string; key: string } {
  const cn = o.commonName ?? 'localhost';
  const dns = o.dnsNames ?? [cn];
  const ips = o.ipAddresses ?? ['127.0.0.1', '::1'];
  for (const ip of ips) {
    if (!isIP(ip)) throw typeError(ErrorCode.INVALID_OPTION, `makeSelfSignedCert: ${JSON.stringify(ip)} is not an IP address`);
    // A certificate holds the 16 address bytes only: no place for a scope.
    if (ip.includes('%')) throw typeError(ErrorCode.INVALID_OPTION, `makeSelfSignedCert: ${JSON.stringify(ip)}: an IPv6 zone index cannot go in a certificate`);
  }
  const days = o.days ?? 365;
  if (!(days > 0)) throw rangeError(ErrorCode.INVALID_OPTION, `makeSelfSignedCert: days must be > 0, got ${days}`);

  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const name = seq(set(seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn, 'utf8')))));
  const ecdsaSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const serial = randomBytes(16);
  serial[0] &= 0x7f; // positive
  serial[0] |= 0x40; // and no leading zero byte to strip
  const now = Date.now();
  const san = seq(
    ...dns.map((d) => tlv(0x82, Buffer.from(d, 'ascii'))),
    ...ips.map((ip) => tlv(0x87, ipBytes(ip))),
  );
  const ext = (id: string, critical: boolean, value: Buffer) =>
    seq(oid(id), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), tlv(0x04, value));
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))),
    tlv(0x02, serial),
    ecdsaSha256,
    name,
    seq(utcTime(new Date(now - 60_000)), utcTime(new Date(now + days * 86_400_000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    tlv(0xa3, seq(
      ext('2.5.29.19', true, seq()),
      ext('2.5.29.15', true, tlv(0x03, Buffer.from([0x07, 0x80]))), // digitalSignature
      ext('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))),
      ext('2.5.29.17', false, san),
    )),
  );
  const sig = sign('sha256', tbs, privateKey);
  const der = seq(tbs, ecdsaSha256, tlv(0x03, Buffer.from([0]), sig));
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return {
    cert: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`,
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}
