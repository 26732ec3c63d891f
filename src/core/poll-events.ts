/**
 * lws's external-poll callbacks (ADD_POLL_FD, DEL_POLL_FD,
 * CHANGE_MODE_POLL_FD, LOCK_POLL, UNLOCK_POLL) as a report of what Node's
 * loop watches for each connection. Node owns the loop, so nobody else can
 * poll these descriptors for tslws; what can be given is the table itself,
 * for code that mirrors it into another scheduler or just watches it.
 */
import type { Socket } from 'node:net';
import type { Wsi } from './wsi.js';
import { invokeProtocol } from './protocols.js';
import { Reason } from './reasons.js';

/** Interest bits in `PollArgs.events`: lws's LWS_POLLIN and LWS_POLLOUT (poll(2)'s values). */
export const Poll = {
  /** Reading: the socket is not paused (not held by rx flow control or a choked pipeline). */
  IN: 1,
  /** Waiting to write: a WRITEABLE was asked for, or what was written waits for the kernel. */
  OUT: 4,
} as const;

/** The `input` of ADD_POLL_FD, DEL_POLL_FD, CHANGE_MODE_POLL_FD, LOCK_POLL and UNLOCK_POLL (lws_pollargs). */
export interface PollArgs {
  /** The socket's descriptor; -1 for a connection whose transport has none (a stream Node made). */
  readonly fd: number;
  /** `Poll.IN | Poll.OUT` as they are now (for DEL_POLL_FD: as they were). */
  readonly events: number;
  /** The interest before this change (ADD_POLL_FD: 0). */
  readonly prevEvents: number;
}

interface Entry {
  fd: number;
  events: number;
  socket: Socket;
  refresh: () => void;
}

/** Node's libuv handle keeps the descriptor; a TLS socket's is that of the socket under it. */
function fdOf(s: Socket): number {
  type WithHandle = { _handle?: { fd?: unknown } | null; _parent?: WithHandle | null };
  let cur: WithHandle | null | undefined = s as unknown as WithHandle;
  for (let i = 0; cur && i < 3; i++) {
    const fd = cur._handle?.fd;
    if (typeof fd === 'number' && fd >= 0) return fd;
    cur = cur._parent;
  }
  return -1;
}

function wantsOut(root: Wsi): boolean {
  if (root.wantWritable) return true;
  for (const c of root.children) if (c.wantWritable || c.children.some((g) => g.wantWritable)) return true;
  return false;
}

/** @internal One context's poll table, made when the context has `pollEvents`. */
export class PollTable {
  #entries = new Map<Wsi, Entry>();

  /** A connection's socket is now watched (its wsi routes the socket's events). */
  add(wsi: Wsi, socket: Socket): void {
    const have = this.#entries.get(wsi);
    if (have) {
      // The same connection with a new socket object over it (TLS after a sniff): one descriptor still.
      if (have.socket !== socket) {
        this.#unlisten(have);
        have.socket = socket;
        this.#listen(have);
      }
      this.update(wsi);
      return;
    }
    const fd = fdOf(socket);
    if (fd < 0 && socket.connecting) {
      // A client socket gets its descriptor when it connects: it enters the table then.
      socket.once('connect', () => {
        if (!wsi.closed && wsi.socket === socket) this.add(wsi, socket);
      });
      return;
    }
    const e: Entry = { fd, events: 0, socket, refresh: () => this.update(wsi) };
    e.events = this.#interest(wsi, socket);
    this.#entries.set(wsi, e);
    this.#listen(e);
    this.#tell(wsi, Reason.ADD_POLL_FD, { fd: e.fd, events: e.events, prevEvents: 0 });
  }

  /** Recompute a connection's interest (for a stream: its connection's) and report a change. */
  update(wsi: Wsi): void {
    let root = wsi;
    while (root.parent) root = root.parent;
    const e = this.#entries.get(root);
    if (!e) return;
    const events = this.#interest(root, e.socket);
    if (events === e.events) return;
    const prevEvents = e.events;
    e.events = events;
    this.#tell(root, Reason.CHANGE_MODE_POLL_FD, { fd: e.fd, events, prevEvents });
  }

  /** The connection is closed: its descriptor leaves the table. */
  remove(wsi: Wsi): void {
    const e = this.#entries.get(wsi);
    if (!e) return;
    this.#entries.delete(wsi);
    this.#unlisten(e);
    this.#tell(wsi, Reason.DEL_POLL_FD, { fd: e.fd, events: e.events, prevEvents: e.events });
  }

  /** Descriptors watched now. */
  get size(): number {
    return this.#entries.size;
  }

  #interest(root: Wsi, s: Socket): number {
    let ev = 0;
    if (!s.isPaused() && !root.closed) ev |= Poll.IN;
    if (wantsOut(root) || s.writableNeedDrain) ev |= Poll.OUT;
    return ev;
  }

  // Node says when a socket stops or starts reading and when it drains,
  // whoever paused it (rx flow control, a role's pipeline bound).
  #listen(e: Entry): void {
    e.socket.on('pause', e.refresh);
    e.socket.on('resume', e.refresh);
    e.socket.on('drain', e.refresh);
  }

  #unlisten(e: Entry): void {
    e.socket.off('pause', e.refresh);
    e.socket.off('resume', e.refresh);
    e.socket.off('drain', e.refresh);
  }

  /** As lws: LOCK_POLL, the change, UNLOCK_POLL, all to protocols[0] of the connection's vhost. */
  #tell(wsi: Wsi, reason: Reason.ADD_POLL_FD | Reason.DEL_POLL_FD | Reason.CHANGE_MODE_POLL_FD, args: PollArgs): void {
    const p0 = wsi.vhost.protocols[0];
    if (!p0) return;
    try {
      invokeProtocol(p0, wsi, Reason.LOCK_POLL, wsi.user, args);
      invokeProtocol(p0, wsi, reason, wsi.user, args);
      invokeProtocol(p0, wsi, Reason.UNLOCK_POLL, wsi.user, args);
    } catch (err) {
      // A report cannot be refused: a throw is logged and the table goes on.
      wsi.context.reportCallbackError(p0, reason, err, wsi);
    }
  }
}
