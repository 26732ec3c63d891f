/**
 * curl as an HTTP/1.1 and HTTP/2 client for the tests: one request, what
 * came back and over which HTTP version. A machine without curl fails the
 * test with a message saying what to install; nothing is skipped.
 */
import { execFile } from 'node:child_process';

export interface CurlAnswer {
  status: number;
  /** `%{http_version}`: "2" for HTTP/2, "1.1" for HTTP/1.1. */
  version: string;
  body: Buffer;
}

/** Run `curl -s` with `args` (the URL among them); bounded by `timeoutMs`. */
export function curl(args: string[], timeoutMs = 20000): Promise<CurlAnswer> {
  return new Promise((resolve, reject) => {
    const all = ['-s', '-S', '--max-time', String(Math.ceil(timeoutMs / 1000)), '-w', '\n%{http_code} %{http_version}', ...args];
    execFile('curl', all, { encoding: 'buffer', timeout: timeoutMs + 5000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new Error('this test needs curl with HTTP/2 (apt-get install curl); it does not skip'));
        return;
      }
      if (err) {
        reject(new Error(`curl ${args.join(' ')} failed: ${(stderr as Buffer).toString().trim() || err.message}`));
        return;
      }
      const out = stdout as Buffer;
      const nl = out.lastIndexOf(0x0a);
      const [status, version] = out.subarray(nl + 1).toString().split(' ');
      resolve({ status: Number(status), version, body: out.subarray(0, nl) });
    });
  });
}
