import type { Socket } from 'node:net';
import type { Wsi } from './wsi.js';
import { log } from './log.js';

// The socket's wsi, for the shared event handlers below.
const kWsi = Symbol('tslws.wsi');
type WiredSocket = Socket & { [kWsi]: Wsi };

// One set of handler functions for every socket (EventEmitter calls them
// with the socket as `this`) instead of five closures and their context per
// connection: about 350 bytes of heap less for each idle connection.
function onData(this: WiredSocket, buf: Buffer): void {
  const wsi = this[kWsi];
  wsi.deliverRx(buf);
  // A WRITEABLE asked for while this read was handled is delivered now,
  // not after the reads of every other connection ready in this turn: the
  // peer gets its answer while the others are served (its work and ours
  // overlap), and what one read asks for still leaves in one write.
  if (wsi.wantWritable) wsi.context.writableNow(wsi);
}
function onDrain(this: WiredSocket): void {
  this[kWsi].transportDrained();
}
function onEnd(this: WiredSocket): void {
  this[kWsi].transportEnded();
}
function onError(this: WiredSocket, e: Error): void {
  const wsi = this[kWsi];
  log.debug('wsi %d: socket error: %s', wsi.id, e.message);
  wsi.transportError(e as NodeJS.ErrnoException);
}
function onClose(this: WiredSocket): void {
  this[kWsi].close(false);
}

/** Stop routing a socket's events into its wsi. */
export function unwireSocket(socket: Socket): void {
  socket.off('data', onData);
  socket.off('drain', onDrain);
  socket.off('end', onEnd);
  socket.off('error', onError);
  socket.off('close', onClose);
}

/** Route a socket's events into `wsi`, whose transport it is. */
export function wireSocket(wsi: Wsi, socket: Socket): void {
  (socket as WiredSocket)[kWsi] = wsi;
  socket.on('data', onData);
  socket.on('drain', onDrain);
  socket.on('end', onEnd);
  socket.on('error', onError);
  socket.on('close', onClose);
  wsi.context.poll?.add(wsi, socket);
}
