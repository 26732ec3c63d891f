import { createContext, Reason, Write, type Context, type Wsi, type ClientSslOptions } from '../../index.js';
import type { Target } from './target.js';
import { firstOnly } from './target.js';

/**
 * The raw:// mode of lws-test-client: a plain TCP (or TLS with -s)
 * connection; what arrives on `input` is sent from RAW_WRITEABLE, what the
 * peer sends goes to `out`. `done(0)` when the peer closes, `done(1)` if the
 * connection fails.
 *
 * ```ts
 * runRawMode(parseTarget('raw://localhost:9000', undefined, false), process.stdin,
 *   (b) => process.stdout.write(b), (c) => process.exit(c), false);
 * ```
 */
export function runRawMode(target: Target, input: NodeJS.ReadableStream, out: (data: Buffer) => void,
  done: (code: number) => void, ssl: ClientSslOptions | false): Context {
  const queue: Buffer[] = [];
  let conn: Wsi | undefined;
  const end = firstOnly(done);
  const context = createContext({
    protocols: [{
      name: 'lws-test-raw-client',
      callback(wsi, reason, _user, data): number {
        switch (reason) {
          case Reason.RAW_ADOPT:
            conn = wsi;
            // Only now is there somewhere to put stdin; until then it stays paused.
            input.on('data', (d: Buffer | string) => {
              queue.push(Buffer.from(d));
              conn?.callbackOnWritable();
            });
            input.resume();
            break;
          case Reason.RAW_WRITEABLE: {
            const b = queue.shift();
            if (b) wsi.write(b, Write.HTTP);
            if (queue.length) wsi.callbackOnWritable();
            break;
          }
          case Reason.RAW_RX:
            out(Buffer.from(data));
            break;
          case Reason.RAW_CLOSE:
            conn = undefined;
            end(0);
            break;
          case Reason.CLIENT_CONNECTION_ERROR:
            process.stderr.write(`lws-test-client: connection failed: ${data}\n`);
            end(1);
            break;
        }
        return 0;
      },
    }],
  });
  input.pause();
  context.clientConnect({
    address: target.host, port: target.port, method: 'RAW', ssl,
  });
  return context;
}
