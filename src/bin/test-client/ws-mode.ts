import { createContext, Reason, Write, type Context, type Protocol, type ClientSslOptions } from '../../index.js';
import type { Target } from './target.js';

/** How the ws mode behaves, from the command line. */
export interface WsModeOptions {
  /** Subprotocol the mirror connection asks for. */
  mirrorProtocol: string;
  /** `-n`: connect the mirror but send nothing. */
  noMirrorSend: boolean;
  /** `-j`: only the mirror connection, one circle, no re-arming. */
  justMirror: boolean;
  /** `-O`: stop after one mirror lifetime, exit 0 on success. */
  once: boolean;
  /** `-l`: the mirror lifetime is 500000 messages longer (not under `-O`). */
  longLived?: boolean;
  /** TLS settings of both connections (false: none). */
  ssl: ClientSslOptions | false;
  /** `--h2`: the connections are streams of one HTTP/2 connection (RFC 8441). */
  http2?: 'require';
  /** Called once with the exit status when the run is over. */
  done: (code: number) => void;
  /** Where lines go (stdout in the bin; a test may capture). */
  print: (line: string) => void;
}

/**
 * The mirror lifetime under `-O`. lws picks 16384 + rand(65535), which takes
 * minutes; a test run wants proof of a round trip, not a flood.
 */
export const ONCE_MIRROR_MESSAGES = 100;
/** What `-l` adds to the mirror lifetime, as the C client. */
export const LONG_LIVED_EXTRA = 500000;
// With -n nothing is sent, so "success" is staying connected this long.
const QUIET_MIRROR_MS = 1000;
const RECONNECT_MS = 2000;
/** `-O` gives up after this long, so a silent server cannot hang a test run. */
export const ONCE_TIMEOUT_MS = 30000;

/** One `c #RRGGBB X Y R;` drawing command, as the C test client sends. */
export function randomCircle(): string {
  const r = (): number => Math.floor(Math.random() * 0x100000000);
  const color = (r() & 0xffffff).toString(16).toUpperCase().padStart(6, '0');
  return `c #${color} ${r() & 511} ${r() & 255} ${(r() & 31) + 1};`;
}

/**
 * The ws:// mode of lws-test-client: a dumb-increment connection printing
 * every number, and a mirror connection drawing random circles, each
 * reconnecting 2 s after it ends unless running once.
 *
 * ```ts
 * const ctx = runWsMode({ host: 'localhost', port: 7681, path: '/', tls: false, allowSelfSigned: false },
 *   { mirrorProtocol: 'lws-mirror-protocol', noMirrorSend: false, justMirror: false, once: true, ssl: false,
 *     done: (code) => process.exit(code), print: console.log });
 * ```
 */
export function runWsMode(target: Target, opt: WsModeOptions): Context {
  let finished = false;
  let mirrorLeft = 0;
  let mirrorSent = 0;
  let mirrorBack = 0;
  const outstanding = new Set<string>();
  let mirrorParts: Buffer[] = [];
  let quietTimer: NodeJS.Timeout | undefined;

  const finish = (code: number, why?: string): void => {
    if (finished) return;
    finished = true;
    if (why) (code ? process.stderr.write(`lws-test-client: ${why}\n`) : opt.print(why));
    clearTimeout(quietTimer);
    opt.done(code);
  };
  const retry = (connect: () => void): void => {
    // Not unref'd: a client waiting to reconnect must stay alive, as the C one does.
    if (!opt.once && !finished) setTimeout(() => !finished && connect(), RECONNECT_MS);
  };

  const dumb: Protocol = {
    name: 'dumb-client',
    callback(wsi, reason, _user, input): number {
      switch (reason) {
        case Reason.CLIENT_ESTABLISHED:
          opt.print('dumb-increment: connected');
          break;
        case Reason.CLIENT_RECEIVE:
          opt.print(`rx ${String(input)}`);
          break;
        case Reason.CLIENT_CONNECTION_ERROR:
          if (opt.once) finish(1, `dumb-increment connection failed: ${input}`);
          else process.stderr.write(`lws-test-client: dumb-increment connection failed: ${input}\n`);
          retry(connectDumb);
          break;
        case Reason.CLIENT_CLOSED:
          opt.print('dumb-increment: closed');
          retry(connectDumb);
          break;
      }
      return 0;
    },
  };

  const mirror: Protocol = {
    name: 'mirror-client',
    callback(wsi, reason, _user, input): number {
      switch (reason) {
        case Reason.CLIENT_ESTABLISHED:
          opt.print('mirror: connected');
          mirrorLeft = opt.once ? ONCE_MIRROR_MESSAGES : 16384 + Math.floor(Math.random() * 65536) + (opt.longLived ? LONG_LIVED_EXTRA : 0);
          if (opt.justMirror) mirrorLeft = 1;
          opt.print(`opened mirror connection with ${mirrorLeft} lifetime`);
          mirrorSent = mirrorBack = 0;
          outstanding.clear();
          if (opt.noMirrorSend) {
            if (opt.once) quietTimer = setTimeout(() => { finish(0, 'mirror: stayed connected, sent nothing'); wsi.close(); }, QUIET_MIRROR_MS);
          } else wsi.callbackOnWritable();
          break;
        case Reason.CLIENT_WRITEABLE: {
          if (opt.noMirrorSend || mirrorLeft <= 0) break;
          const c = randomCircle();
          outstanding.add(c);
          wsi.write(Buffer.from(c), Write.TEXT);
          mirrorSent++;
          mirrorLeft--;
          // -j sends one circle only; otherwise the next goes when the socket can take it.
          if (mirrorLeft > 0 && !opt.justMirror) wsi.callbackOnWritable();
          else if (!opt.once && !opt.justMirror) return -1; // lifetime over: close, and reconnect below
          break;
        }
        case Reason.CLIENT_RECEIVE: {
          mirrorParts.push(Buffer.from(input));
          if (!wsi.isFinalFragment()) break;
          const msg = Buffer.concat(mirrorParts).toString();
          mirrorParts = [];
          // Other clients' drawings arrive too; only ours count as mirrored back.
          if (outstanding.delete(msg)) mirrorBack++;
          if (opt.once && mirrorLeft <= 0 && outstanding.size === 0) {
            // Finished first, so the close that follows is not taken for a failure.
            finish(0, `mirror: ${mirrorSent} sent, ${mirrorBack} mirrored back`);
            wsi.close();
          }
          break;
        }
        case Reason.CLIENT_CONNECTION_ERROR:
          if (opt.once) finish(1, `mirror connection failed: ${input}`);
          else process.stderr.write(`lws-test-client: mirror connection failed: ${input}\n`);
          retry(connectMirror);
          break;
        case Reason.CLIENT_CLOSED:
          opt.print(`mirror: closed after ${mirrorSent} sent, ${mirrorBack} mirrored back`);
          if (opt.once) finish(1, `mirror connection closed before its lifetime ended (${mirrorSent} sent, ${mirrorBack} back)`);
          retry(connectMirror);
          break;
      }
      return 0;
    },
  };

  const context = createContext({ protocols: [dumb, mirror] });
  const base = {
    context, address: target.host, port: target.port, path: target.path,
    host: target.hostHeader, origin: target.hostHeader,
    ssl: opt.ssl,
    http2: opt.http2,
    // The C client's offer; lws-mirror-protocol servers refuse it, dumb-increment takes it.
    perMessageDeflate: { clientNoContextTakeover: true },
  };
  function connectDumb(): void {
    context.clientConnect({ ...base, protocol: 'dumb-increment-protocol', localProtocolName: 'dumb-client' });
  }
  function connectMirror(): void {
    context.clientConnect({ ...base, protocol: opt.mirrorProtocol, localProtocolName: 'mirror-client' });
  }
  if (opt.once) {
    const cap = setTimeout(() => finish(1, `no result within ${ONCE_TIMEOUT_MS / 1000} s (${mirrorSent} sent, ${mirrorBack} back)`), ONCE_TIMEOUT_MS);
    cap.unref();
  }
  if (!opt.justMirror) connectDumb();
  connectMirror();
  return context;
}
