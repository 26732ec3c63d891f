import { createContext, Reason, type Context, type Protocol, type Wsi, type ClientSslOptions } from '../../index.js';
import type { Target } from './target.js';

/** How many dumb-increment connections `-m` keeps open, as the C client. */
export const MULTI_CONNECTIONS = 3;
/** One "service loop" of the C client's main loop, here a timer tick. */
export const SERVICE_LOOP_MS = 50;
const RECONNECT_MS = 2000;

export interface MultiModeOptions {
  ssl: ClientSslOptions | false;
  print: (line: string) => void;
}

/**
 * The `-m` mode of lws-test-client: MULTI_CONNECTIONS dumb-increment
 * connections, each reopened when it ends but at most once every 2 s, and
 * every 10 service loops a WRITEABLE asked for all of them with
 * `callbackOnWritableAllProtocol` (they have nothing to send: it exercises
 * the call). Lines: `dumb N: connecting|connected|rx V|writeable|closed`.
 * Runs until the context is destroyed.
 *
 * ```ts
 * runMultiMode(parseTarget('ws://localhost:7681/', undefined, false), { ssl: false, print: console.log });
 * ```
 */
export function runMultiMode(target: Target, opt: MultiModeOptions): Context {
  const slots: Array<{ wsi?: Wsi; lastTry: number }> = [];
  for (let i = 0; i < MULTI_CONNECTIONS; i++) slots.push({ lastTry: -Infinity });
  const slotOf = (wsi: Wsi): number => slots.findIndex((s) => s.wsi === wsi);

  const dumb: Protocol = {
    name: 'dumb-multi',
    callback(wsi, reason, _user, input): number {
      const n = slotOf(wsi);
      if (n < 0) return 0;
      switch (reason) {
        case Reason.CLIENT_ESTABLISHED:
          opt.print(`dumb ${n}: connected`);
          break;
        case Reason.CLIENT_RECEIVE:
          opt.print(`dumb ${n}: rx ${String(input)}`);
          break;
        case Reason.CLIENT_WRITEABLE:
          opt.print(`dumb ${n}: writeable`);
          break;
        case Reason.CLIENT_CONNECTION_ERROR:
          process.stderr.write(`lws-test-client: dumb ${n}: connection failed: ${input}\n`);
          slots[n].wsi = undefined;
          break;
        case Reason.CLIENT_CLOSED:
          opt.print(`dumb ${n}: closed`);
          slots[n].wsi = undefined;
          break;
      }
      return 0;
    },
  };

  const context = createContext({ protocols: [dumb] });
  let loops = 0;
  const tick = (): void => {
    const now = Date.now();
    slots.forEach((s, n) => {
      if (s.wsi || now - s.lastTry < RECONNECT_MS) return;
      s.lastTry = now;
      opt.print(`dumb ${n}: connecting`);
      const w = context.clientConnect({
        address: target.host, port: target.port, path: target.path, host: target.hostHeader, origin: target.hostHeader,
        protocol: 'dumb-increment-protocol', ssl: opt.ssl, perMessageDeflate: { clientNoContextTakeover: true },
      });
      // A failure reported at once has already passed (no slot yet): just retry later.
      if (!w.closed) s.wsi = w;
    });
    if (++loops % 10 === 0) {
      const n = context.vhosts[0].callbackOnWritableAllProtocol(dumb);
      opt.print(`callbackOnWritableAllProtocol: ${n} connections`);
    }
  };
  // Not unref'd: like the C client, -m runs until stopped.
  const timer = setInterval(() => (context.destroyed ? clearInterval(timer) : tick()), SERVICE_LOOP_MS);
  tick();
  return context;
}
