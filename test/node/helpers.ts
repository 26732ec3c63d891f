/** Bounded waits for the message-layer tests. */
import { once, type EventEmitter } from 'node:events';
import { createWebSocketServer, type WebSocketServer, type WebSocketServerOptions } from '../../src/index.js';

/** `p`, or a rejection naming `what` after `ms`. */
export function within<T>(p: Promise<T>, what: string, ms = 10000): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
    }),
  ]);
}

/** The next `event` of `em`, bounded. */
export function next<T extends unknown[]>(em: EventEmitter, event: string, ms = 10000): Promise<T> {
  return within(once(em, event) as Promise<T>, event, ms);
}

/** A listening server on a free port. */
export async function listen(o: Partial<WebSocketServerOptions> = {}): Promise<WebSocketServer> {
  const server = createWebSocketServer({ port: 0, iface: '127.0.0.1', ...o });
  await next(server as unknown as EventEmitter, 'listening');
  return server;
}
