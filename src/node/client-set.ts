/**
 * `server.clients`: the open sockets of a `WebSocketServer`, read as a set
 * (`size`, `has`, `forEach`, `for…of`); the server adds and removes them.
 *
 * Not a `Set`: one that lives as long as the server while sockets come and
 * go rebuilds its table every few dozen removals, and an old table kept
 * closed sockets (and all they hold) alive through young-generation
 * collections; see `core/indexed-list.ts`.
 *
 * ```ts
 * server.clients.forEach((socket) => socket.send('to everyone'));
 * console.log(server.clients.size, 'open');
 * ```
 */
import { IndexedList } from '../core/indexed-list.js';
import type { MessageSocket } from './message-socket.js';

export class ClientSet implements Iterable<MessageSocket> {
  readonly #list = new IndexedList<MessageSocket>();

  /** Open sockets. */
  get size(): number {
    return this.#list.size;
  }

  /** Is `socket` one of them? */
  has(socket: MessageSocket): boolean {
    const i = socket.listIdx;
    return i >= 0 && i < this.#list.size && this.#list.at(i) === socket;
  }

  /** Call `fn` for each socket open now (a socket closed meanwhile is still visited). */
  forEach(fn: (socket: MessageSocket, same: MessageSocket, set: ClientSet) => void): void {
    for (const s of this.#list.toArray()) fn(s, s, this);
  }

  /** The sockets open now. */
  values(): IterableIterator<MessageSocket> {
    return this.#list[Symbol.iterator]();
  }

  /** The sockets open now (as `Set.keys()`: the same as `values()`). */
  keys(): IterableIterator<MessageSocket> {
    return this.values();
  }

  [Symbol.iterator](): IterableIterator<MessageSocket> {
    return this.values();
  }

  /** @internal */
  add(socket: MessageSocket): void {
    this.#list.add(socket);
  }

  /** @internal */
  delete(socket: MessageSocket): boolean {
    return this.#list.delete(socket);
  }
}
