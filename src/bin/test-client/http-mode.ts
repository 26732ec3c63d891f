import { createContext, Reason, type Context, type Wsi, type CallbackInput } from '../../index.js';
import type { Target } from './target.js';

/**
 * The http:// mode of lws-test-client: one GET, the body to `out`, the
 * status line to stderr; `done(0)` when the body is complete, `done(1)` on
 * a connection error or a status of 400 and above.
 *
 * ```ts
 * runHttpMode(parseTarget('http://localhost:7681/', undefined, false), (b) => process.stdout.write(b), (c) => process.exit(c));
 * ```
 */
export function runHttpMode(target: Target, out: (body: Buffer) => void, done: (code: number) => void): Context {
  let status = 0;
  let ended = false;
  const end = (code: number): void => {
    if (!ended) {
      ended = true;
      done(code);
    }
  };
  const context = createContext({
    protocols: [{
      name: 'http-client',
      callback(wsi: Wsi, reason: Reason, _user: unknown, input: CallbackInput): number {
        switch (reason) {
          case Reason.ESTABLISHED_CLIENT_HTTP:
            status = wsi.httpClientStatus();
            process.stderr.write(`lws-test-client: HTTP status ${status}\n`);
            break;
          case Reason.RECEIVE_CLIENT_HTTP:
            out(wsi.httpClientRead());
            break;
          case Reason.COMPLETED_CLIENT_HTTP:
            end(status >= 400 ? 1 : 0);
            break;
          case Reason.CLIENT_CONNECTION_ERROR:
            process.stderr.write(`lws-test-client: connection failed: ${String(input)}\n`);
            end(1);
            break;
          case Reason.CLOSED_CLIENT_HTTP:
            end(status && status < 400 ? 0 : 1);
            break;
        }
        return 0;
      },
    }],
  });
  context.clientConnect({
    address: target.host, port: target.port, path: target.path, host: target.hostHeader, method: 'GET',
    ssl: target.tls ? { allowSelfSigned: target.allowSelfSigned, skipHostnameCheck: target.allowSelfSigned } : false,
  });
  return context;
}
