import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { log } from '../core/log.js';
import type { ClientConnectInfo } from './info.js';
import type { Timer, TimerList } from '../core/timers.js';

/**
 * Idle HTTP client connections kept for reuse (`keepAlive` in the connect
 * info), per vhost and per target: the same address, port and TLS
 * settings. A parked socket is not read; anything it does (data, end,
 * error, close) or its idle time running out discards it. Parked sockets
 * do not keep the process alive.
 */
export class ClientPool {
  #idle = new Map<string, Set<Socket>>();
  #timers = new Map<Socket, Timer>();
  #drops = new Map<Socket, () => void>();

  constructor(private readonly timers: TimerList, private readonly maxPerTarget: number, private readonly idleSecs: number) {}

  /** Park a socket whose exchange ended cleanly; false (and the caller closes it) when there is no room. */
  park(key: string, s: Socket): boolean {
    if (this.maxPerTarget <= 0 || this.idleSecs <= 0 || s.destroyed) return false;
    let set = this.#idle.get(key);
    if (!set) this.#idle.set(key, (set = new Set()));
    if (set.size >= this.maxPerTarget) return false;
    set.add(s);
    const drop = () => this.#drop(key, s);
    this.#drops.set(s, drop);
    // Kept flowing so a server that closes (or talks out of turn) is noticed at once.
    s.on('data', drop).on('end', drop).on('error', drop).on('close', drop);
    s.resume();
    s.unref();
    const t = this.timers.timer((d: () => void) => d(), drop);
    t.start(this.idleSecs * 1000);
    this.#timers.set(s, t);
    return true;
  }

  /** A live parked socket for `key`, taken out of the pool. */
  take(key: string): Socket | null {
    const set = this.#idle.get(key);
    if (!set) return null;
    for (const s of set) {
      this.#forget(key, s);
      if (s.destroyed || !s.writable) {
        s.destroy();
        continue;
      }
      s.ref();
      return s;
    }
    return null;
  }

  /** Sockets parked for `key` (tests, statistics). */
  count(key?: string): number {
    if (key !== undefined) return this.#idle.get(key)?.size ?? 0;
    let n = 0;
    for (const s of this.#idle.values()) n += s.size;
    return n;
  }

  clear(): void {
    for (const [key, set] of this.#idle) for (const s of [...set]) this.#drop(key, s);
    this.#idle.clear();
  }

  #forget(key: string, s: Socket): void {
    // Only our own listener: the socket's internal ones must stay.
    const drop = this.#drops.get(s);
    if (drop) s.off('data', drop).off('end', drop).off('error', drop).off('close', drop);
    this.#drops.delete(s);
    this.#timers.get(s)?.stop();
    this.#timers.delete(s);
    const set = this.#idle.get(key);
    set?.delete(s);
    if (set && set.size === 0) this.#idle.delete(key);
  }

  #drop(key: string, s: Socket): void {
    this.#forget(key, s);
    s.on('error', () => {});
    log.debug('client pool: idle connection %s dropped', key.split('\0').slice(0, 3).join(' '));
    s.destroy();
  }
}

/**
 * Which pooled connections a request may use: same target, same TLS trust
 * and identity. `ssl` is what the socket is opened with (the vhost's
 * initClientSsl defaults under the request's own). Every TLS field goes
 * into one hash, each tagged and length-prefixed so no two different
 * settings can run together into the same bytes.
 */
export function poolKey(target: Pick<ClientConnectInfo, 'address' | 'port' | 'host'>, ssl: ClientConnectInfo['ssl']): string {
  let tls = 'clear';
  if (ssl) {
    const o = ssl === true ? {} : ssl;
    const h = createHash('sha256');
    const field = (tag: string, v: string | Uint8Array) => {
      const b = typeof v === 'string' ? Buffer.from(v) : v;
      h.update(`${tag}${b.length}:`);
      h.update(b);
    };
    field('host', target.host ?? '');
    field('flags', `${o.allowSelfSigned ? 1 : 0}${o.skipHostnameCheck ? 1 : 0}${o.allowExpired ? 1 : 0}`);
    if (o.passphrase !== undefined) field('pass', o.passphrase);
    for (const [tag, v] of [['ca', o.ca], ['cert', o.cert], ['key', o.key], ['crl', o.crl]] as const)
      if (v !== undefined) for (const x of [v].flat()) field(tag, x);
    tls = 'tls|' + h.digest('hex');
  }
  return [target.address.toLowerCase(), String(target.port), tls].join('\0');
}
