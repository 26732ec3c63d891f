import { createContext, Reason, Write, type Context, type ClientSslOptions } from '../../index.js';
import type { Target } from './target.js';
import { firstOnly } from './target.js';

/** What `-o` posts, as the C client's form test. */
export const POST_BODY = 'text=hello&send=Send+the+form';

export interface HttpModeOptions {
  /** `-o`: POST POST_BODY as a urlencoded form instead of a GET. */
  post: boolean;
  ssl: ClientSslOptions | false;
  /** `--h2`: HTTP/2 only; absent, https:// follows the server's ALPN. */
  http2?: 'require';
}

/**
 * The http:// mode of lws-test-client: one GET (or with `post`, the C
 * client's form POST), the body to `out`, the status line to stderr;
 * `done(0)` when the body is complete, `done(1)` on a connection error or
 * a status of 400 and above.
 *
 * ```ts
 * runHttpMode(parseTarget('http://localhost:7681/', undefined, false), (b) => process.stdout.write(b),
 *   (c) => process.exit(c), { post: false, ssl: false });
 * ```
 */
export function runHttpMode(target: Target, out: (body: Buffer) => void, done: (code: number) => void,
  opt: HttpModeOptions): Context {
  let status = 0;
  const end = firstOnly(done);
  const context = createContext({
    protocols: [{
      name: 'http-client',
      callback(wsi, reason, _user, input): number {
        switch (reason) {
          case Reason.ESTABLISHED_CLIENT_HTTP:
            status = wsi.httpClientStatus();
            process.stderr.write(`lws-test-client: HTTP status ${status}\n`);
            break;
          case Reason.CLIENT_HTTP_WRITEABLE:
            wsi.write(Buffer.from(POST_BODY), Write.HTTP_FINAL);
            break;
          case Reason.RECEIVE_CLIENT_HTTP:
            out(wsi.httpClientRead());
            break;
          case Reason.COMPLETED_CLIENT_HTTP:
            end(status >= 400 ? 1 : 0);
            break;
          case Reason.CLIENT_CONNECTION_ERROR:
            process.stderr.write(`lws-test-client: connection failed: ${input}\n`);
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
    address: target.host, port: target.port, path: target.path, host: target.hostHeader, ssl: opt.ssl, http2: opt.http2,
    ...(opt.post
      ? { method: 'POST', bodyLength: POST_BODY.length, headers: { 'content-type': 'application/x-www-form-urlencoded' } }
      : { method: 'GET' }),
  });
  return context;
}
