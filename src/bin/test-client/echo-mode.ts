import { createContext, Reason, Write, type Context, type Protocol, type ClientSslOptions } from '../../index.js';
import type { Target } from './target.js';
import { PolyRand } from './lfsr.js';

/** As the C client's `-e`: 1024 messages of 3 × 4096 bytes. */
export const ECHO_BLOCKS = 1024;
export const ECHO_BLOCK_SIZE = 3 * 4096;

export interface EchoModeOptions {
  /** Subprotocol asked for (the mirror's, by default). */
  protocol: string;
  ssl: ClientSslOptions | false;
  done: (code: number) => void;
  print: (line: string) => void;
}

/**
 * The `-e` mode of lws-test-client: the mirror connection as an echo test.
 * It sends ECHO_BLOCKS TEXT messages of pseudo-random bytes (PolyRand) and
 * checks the echoed stream byte by byte, however the server splits it into
 * messages; `Everything received: errs 0` and `done(0)` when it has all
 * come back. The bytes are not UTF-8, so the server (and this client) must
 * not validate text: this client does not.
 *
 * ```ts
 * runEchoMode(parseTarget('ws://localhost:7681/', undefined, false),
 *   { protocol: 'lws-mirror-protocol', ssl: false, done: (c) => process.exit(c), print: console.log });
 * ```
 */
export function runEchoMode(target: Target, opt: EchoModeOptions): Context {
  const tx = new PolyRand();
  const rx = new PolyRand();
  let sent = 0;
  let received = 0;
  let finished = false;
  const finish = (code: number, line: string): void => {
    if (finished) return;
    finished = true;
    if (code) process.stderr.write(`lws-test-client: ${line}\n`);
    else opt.print(line);
    opt.done(code);
  };

  const echo: Protocol = {
    name: 'echo-client',
    callback(wsi, reason, _user, input): number {
      switch (reason) {
        case Reason.CLIENT_ESTABLISHED:
          opt.print(`echo: connected, sending ${ECHO_BLOCKS} messages of ${ECHO_BLOCK_SIZE} bytes`);
          wsi.callbackOnWritable();
          break;
        case Reason.CLIENT_WRITEABLE:
          if (sent >= ECHO_BLOCKS) break;
          wsi.write(tx.fill(ECHO_BLOCK_SIZE), Write.TEXT);
          if (++sent < ECHO_BLOCKS) wsi.callbackOnWritable();
          else opt.print('echo: send finished');
          break;
        case Reason.CLIENT_RECEIVE: {
          const data = input;
          for (let i = 0; i < data.length; i++) {
            if (data[i] !== rx.next()) {
              const at = received + i;
              finish(1, `mismatch at rxb ${Math.floor(at / ECHO_BLOCK_SIZE)} offset ${at % ECHO_BLOCK_SIZE}; Everything received: errs 1`);
              return -1;
            }
          }
          received += data.length;
          if (received >= ECHO_BLOCKS * ECHO_BLOCK_SIZE) {
            finish(0, 'Everything received: errs 0');
            return -1;
          }
          break;
        }
        case Reason.CLIENT_CONNECTION_ERROR:
          finish(1, `echo connection failed: ${input}`);
          break;
        case Reason.CLIENT_CLOSED:
          finish(1, `echo connection closed after ${sent} sent, ${received} of ${ECHO_BLOCKS * ECHO_BLOCK_SIZE} bytes back`);
          break;
      }
      return 0;
    },
  };

  // The stream is arbitrary bytes in TEXT frames.
  const context = createContext({ protocols: [echo], ws: { validateUtf8: false } });
  context.clientConnect({
    address: target.host, port: target.port, path: target.path, host: target.hostHeader, origin: target.hostHeader,
    protocol: opt.protocol, ssl: opt.ssl, perMessageDeflate: { clientNoContextTakeover: true },
  });
  return context;
}
