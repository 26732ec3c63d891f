/**
 * `protocol-lws-raw-test`, after lws's plugin of that name: the two RAW
 * sides of the event loop in one protocol.
 *
 * - **RAW sockets**: give it the pvo `raw` and enable `FALLBACK_TO_RAW`
 *   (or `ONLY_RAW`) on the vhost; a connection whose first bytes are not
 *   HTTP is bound to it and everything it sends is echoed back, byte for
 *   byte (lws's echoes at most 128 bytes of the last read). Reading stops
 *   while more than 64 KiB wait to go back, so a peer that does not read
 *   is pushed back by TCP.
 * - **A FIFO**: on a vhost whose pvo for it has `fifo-path` (as lws, no
 *   FIFO without it; lws's test server uses `/tmp/lws-test-raw`), at
 *   PROTOCOL_INIT it makes that FIFO (mode 0666; an old FIFO there is
 *   replaced, anything else there is left alone and reported) and adopts it: what
 *   a writer puts in it (`echo hello > /tmp/lws-test-raw`) is logged at
 *   notice level through the event loop. When the last writer closes it,
 *   it is opened and adopted again. At PROTOCOL_DESTROY it is removed.
 *
 * Node has no mkfifo call: the FIFO is made with the `mkfifo` command.
 *
 * ```ts
 * createContext({ port: 7681, options: Option.FALLBACK_TO_RAW,
 *   protocols: [{ name: 'http', callback: callbackHttpDummy }, rawTestProtocol],
 *   pvo: { 'protocol-lws-raw-test': { raw: '1', 'fifo-path': '/tmp/my-fifo' } } });
 * ```
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, unlinkSync } from 'node:fs';
import type { Protocol, PvoOptions } from '../core/protocols.js';
import type { Wsi } from '../core/wsi.js';
import type { Vhost } from '../core/vhost.js';
import { Reason } from '../core/reasons.js';
import { Write } from '../core/write.js';
import { log } from '../core/log.js';
import { ErrorCode, stateError } from '../core/errors.js';
import type { Plugin } from './plugin.js';

export const RAW_TEST_PROTOCOL_NAME = 'protocol-lws-raw-test';
/** The FIFO lws's test server gives the plugin (pvo `fifo-path`). */
export const RAW_TEST_DEFAULT_FIFO = '/tmp/lws-test-raw';

/** Echoed bytes waiting past this stop reading from the peer. */
const MAX_QUEUED = 64 * 1024;
/** Longest FIFO read shown in one log line. */
const SHOW_MAX = 255;

interface RawTestSession {
  queue: Buffer[];
  queued: number;
  rxStopped: boolean;
}

interface RawTestVhost {
  path: string;
  /** The inode of the FIFO we made, so only it is ever removed. */
  ino: number;
  fifo: Wsi | null;
  stopping: boolean;
}

const vhostData = (wsi: Wsi): RawTestVhost | undefined => wsi.vhost.protocolVhPriv<RawTestVhost>(wsi.protocol);

/** Make the FIFO afresh; another server doing the same at the same moment is not an error (both read it). */
function makeFifo(path: string): number {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st && !st.isFIFO()) throw stateError(ErrorCode.PLUGIN, `${path} exists and is not a FIFO: left alone`);
  if (st) {
    try {
      unlinkSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  try {
    execFileSync('mkfifo', ['-m', '0666', path], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 5000 });
  } catch (e) {
    if (!lstatSync(path, { throwIfNoEntry: false })?.isFIFO()) throw e;
  }
  return lstatSync(path).ino;
}

function adoptFifo(vh: Vhost, p: Protocol, d: RawTestVhost): void {
  if (d.stopping || vh.destroyed || vh.context.destroyed) return;
  try {
    d.fifo = vh.adoptDescriptor(d.path, p.name);
  } catch (e) {
    log.err('raw-test: cannot open the FIFO %s: %s', d.path, (e as Error).message);
    d.fifo = null;
  }
}

function init(wsi: Wsi, options: PvoOptions | undefined): void {
  const vh = wsi.vhost;
  const p = wsi.protocol;
  const path = options?.['fifo-path'];
  if (!path) return; // no FIFO on this vhost (RAW sockets are still echoed)
  const d: RawTestVhost = { path, ino: -1, fifo: null, stopping: false };
  vh.setProtocolVhPriv(p, d);
  try {
    d.ino = makeFifo(path);
  } catch (e) {
    log.err('raw-test: cannot make the FIFO %s: %s', path, (e as Error).message);
    return;
  }
  log.notice('raw-test: FIFO %s made; write to it (echo hello > %s)', path, path);
  adoptFifo(vh, p, d);
}

function destroy(wsi: Wsi): void {
  const d = vhostData(wsi);
  if (!d) return;
  d.stopping = true;
  d.fifo?.close();
  d.fifo = null;
  // Only the FIFO we made: another server may have replaced it since.
  const st = lstatSync(d.path, { throwIfNoEntry: false });
  if (st && st.isFIFO() && st.ino === d.ino) {
    try {
      unlinkSync(d.path);
    } catch {
      // already gone
    }
  }
}

function isFifo(wsi: Wsi): boolean {
  return vhostData(wsi)?.fifo === wsi;
}

function callback(wsi: Wsi, reason: Reason, pss: RawTestSession, input: unknown): number {
  switch (reason) {
    case Reason.PROTOCOL_INIT:
      init(wsi, input as PvoOptions | undefined);
      return 0;
    case Reason.PROTOCOL_DESTROY:
      destroy(wsi);
      return 0;

    // ---- the FIFO ----
    case Reason.RAW_ADOPT_FILE:
      log.info('raw-test: FIFO adopted (wsi %d)', wsi.id);
      return 0;
    case Reason.RAW_RX_FILE: {
      const b = input as Buffer;
      log.notice('raw-test: FIFO: %s', b.subarray(0, SHOW_MAX).toString('utf8').replace(/\n$/, ''));
      return 0;
    }
    case Reason.RAW_CLOSE_FILE: {
      const d = vhostData(wsi);
      if (!d || d.fifo !== wsi) return 0;
      // The last writer went away: open it again for the next one (on a later turn, not inside this close).
      d.fifo = null;
      const vh = wsi.vhost;
      const p = wsi.protocol;
      setImmediate(() => adoptFifo(vh, p, d));
      return 0;
    }

    // ---- RAW sockets ----
    case Reason.RAW_ADOPT:
      log.info('raw-test: RAW connection from %s (wsi %d)', wsi.peerAddress, wsi.id);
      return 0;
    case Reason.RAW_RX: {
      if (isFifo(wsi)) return 0;
      const b = Buffer.from(input as Uint8Array);
      pss.queue.push(b);
      pss.queued += b.length;
      if (pss.queued > MAX_QUEUED && !pss.rxStopped) {
        pss.rxStopped = true;
        wsi.rxFlowControl(false);
      }
      wsi.callbackOnWritable();
      return 0;
    }
    case Reason.RAW_WRITEABLE: {
      const b = pss.queue.shift();
      if (!b) return 0;
      pss.queued -= b.length;
      if (wsi.write(b, Write.HTTP) < b.length) return -1;
      if (pss.rxStopped && pss.queued <= MAX_QUEUED / 2) {
        pss.rxStopped = false;
        wsi.rxFlowControl(true);
      }
      if (pss.queue.length) wsi.callbackOnWritable();
      return 0;
    }
    case Reason.RAW_CLOSE:
      log.info('raw-test: RAW connection closed (wsi %d)', wsi.id);
      return 0;
    default:
      return 0;
  }
}

/** The `protocol-lws-raw-test` protocol. */
export const rawTestProtocol: Protocol<RawTestSession> = {
  name: RAW_TEST_PROTOCOL_NAME,
  callback,
  createSessionData: () => ({ queue: [], queued: 0, rxStopped: false }),
  pvoOptions: ['fifo-path'],
};

/** The plugin carrying `protocol-lws-raw-test`. */
export const plugin: Plugin = {
  name: 'protocol_lws_raw_test',
  protocols: [rawTestProtocol],
};
