/**
 * The `ws` package's echo server as the WebSocket benchmarks run it: every
 * message goes back with its type; SIGINT or SIGTERM closes every client
 * and exits (within 1 s even if a close hangs).
 */
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
