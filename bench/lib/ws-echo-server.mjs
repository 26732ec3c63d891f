/**
 * The `ws` package's echo server as the WebSocket benchmarks run it: every
 * message goes back with its type; SIGINT or SIGTERM closes every client
 * and exits (within 1 s even if a close hangs).
 */
import { createRequire } from 'node:module';

export function echoAndStopOnSignal(wss) {
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('error', () => {});
  });
  const stop = () => {
    for (const c of wss.clients) c.terminate();
    wss.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/**
 * Serve the `ws` echo on 127.0.0.1:`port` (defaults: no permessage-deflate,
 * UTF-8 validation on; messages up to 64 MiB), with `bufferutil` unless
 * WS_NO_BUFFER_UTIL is set. Prints `ws echo: ws VERSION, bufferutil STATE,
 * on ADDRESS` once listening; exits 1 if it cannot listen.
 */
export async function serveWsEcho(port) {
  const require = createRequire(import.meta.url);
  const { WebSocketServer } = await import('ws');
  const wsVersion = require('ws/package.json').version;
  let bu = 'off (WS_NO_BUFFER_UTIL)';
  if (!process.env.WS_NO_BUFFER_UTIL) {
    try {
      const b = require('bufferutil');
      bu = /native code/.test(String(b.mask)) ? 'native' : 'JS fallback';
    } catch {
      bu = 'not installed';
    }
  }
  const wss = new WebSocketServer({ host: '127.0.0.1', port, maxPayload: 64 * 1024 * 1024 });
  echoAndStopOnSignal(wss);
  wss.on('error', (e) => {
    process.stderr.write(`ws echo: ${e.message}\n`);
    process.exit(1);
  });
  wss.on('listening', () => process.stdout.write(`ws echo: ws ${wsVersion}, bufferutil ${bu}, on 127.0.0.1:${port}\n`));
}
