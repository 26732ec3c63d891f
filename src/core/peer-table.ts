/**
 * Per-address accounting for the peer limits (lws's LWS_WITH_PEER_LIMITS):
 * how many connections each peer address has open (`ipLimitWsi`, hard) and
 * how many of them are reading a request head (`ipLimitAh`, soft).
 *
 * The context asks the table and never counts itself, so that a mode with
 * several service processes can enforce the limits across all of them: a
 * primary process that accepts and hands connections out would implement
 * the same calls over its own table. `beginHead` already allows an answer
 * that comes later (`ready`); `tryAdd` must answer at once, as the accept
 * is decided there.
 */
import { log } from './log.js';

export interface PeerTable {
  /**
   * Count a new connection from `addr`. False, and nothing counted, when
   * `addr` already has as many connections as the limit allows.
   */
  tryAdd(addr: string): boolean;
  /** A connection `tryAdd` counted has closed. */
  remove(addr: string): void;
  /**
   * A connection of `addr` starts reading a request head. True: it may
   * parse now, and counts until `endHead`. False: it must wait; `ready` is
   * called once a place is free and has been taken for it (it then counts
   * until `endHead` too). `ready` identifies the connection in `endHead`.
   */
  beginHead(addr: string, ready: () => void): boolean;
  /**
   * The connection `ready` stands for has its head (or closed, or left
   * HTTP/1): its place goes to the next one waiting. A connection still
   * waiting leaves the queue instead.
   */
  endHead(addr: string, ready: () => void): void;
  /** How many addresses the table holds now (each has connections, or heads, or connections waiting). */
  readonly size: number;
}

interface Peer {
  /** Connections open. */
  conns: number;
  /** Connections reading a request head. */
  heads: number;
  /** Connections waiting to read one, first come first served (a Set keeps insertion order). */
  waiting: Set<() => void> | null;
}

/**
 * The table of one process. An address is in it only while it has a
 * connection, so it holds at most as many entries as there are connections.
 */
export class LocalPeerTable implements PeerTable {
  readonly #peers = new Map<string, Peer>();

  /** `wsiLimit`, `ahLimit`: 0 is no limit. */
  constructor(readonly wsiLimit: number, readonly ahLimit: number) {}

  get size(): number {
    return this.#peers.size;
  }

  tryAdd(addr: string): boolean {
    const p = this.#peers.get(addr);
    if (!p) {
      this.#peers.set(addr, { conns: 1, heads: 0, waiting: null });
      return true;
    }
    if (this.wsiLimit > 0 && p.conns >= this.wsiLimit) return false;
    p.conns++;
    return true;
  }

  remove(addr: string): void {
    const p = this.#peers.get(addr);
    if (!p) return;
    p.conns--;
    this.#prune(addr, p);
  }

  beginHead(addr: string, ready: () => void): boolean {
    if (this.ahLimit <= 0) return true;
    let p = this.#peers.get(addr);
    if (!p) {
      // A connection not counted by tryAdd (none should be): track it all the same.
      p = { conns: 0, heads: 0, waiting: null };
      this.#peers.set(addr, p);
    }
    if (p.heads < this.ahLimit && !p.waiting?.size) {
      p.heads++;
      return true;
    }
    (p.waiting ??= new Set()).add(ready);
    log.info('%s is reading %d request heads (ipLimitAh): a connection waits (%d waiting)', addr, p.heads, p.waiting.size);
    return false;
  }

  endHead(addr: string, ready: () => void): void {
    if (this.ahLimit <= 0) return;
    const p = this.#peers.get(addr);
    if (!p) return;
    if (p.waiting?.delete(ready)) {
      this.#prune(addr, p);
      return;
    }
    if (p.heads > 0) p.heads--;
    while (p.waiting && p.waiting.size && p.heads < this.ahLimit) {
      const next = p.waiting.values().next().value as () => void;
      p.waiting.delete(next);
      p.heads++;
      next();
    }
    this.#prune(addr, p);
  }

  #prune(addr: string, p: Peer): void {
    if (p.waiting && !p.waiting.size) p.waiting = null;
    if (p.conns <= 0 && p.heads <= 0 && !p.waiting) this.#peers.delete(addr);
  }

  /** What the table holds for `addr` (for tests and status pages). */
  peer(addr: string): { conns: number; heads: number; waiting: number } | undefined {
    const p = this.#peers.get(addr);
    return p && { conns: p.conns, heads: p.heads, waiting: p.waiting?.size ?? 0 };
  }
}
