import { randomBytes, randomInt } from 'node:crypto';
import { Reason, Write, type Protocol, type Wsi } from '../../index.js';

export const FRAGGLE_PROTOCOL = 'fraggle-protocol';

/** What one side reports about a finished message. */
export interface FraggleReport {
  /** Payload bytes in the message. */
  length: number;
  /** Server: fragments sent. Client: RECEIVE callbacks (can exceed what was sent). */
  fragments: number;
  /** Client only: whether the received sum matched the server's checksum. */
  correct?: boolean;
  sum: number;
  /** Client only: the checksum the server sent. */
  serverSum?: number;
}

interface Session {
  // Server: fragments still to send of the current message (0: send the checksum next).
  left: number;
  first: boolean;
  // Both sides: the current message's byte sum, length and fragment count.
  sum: number;
  length: number;
  fragments: number;
  // Client: the data message is over, the next message is the checksum.
  awaitingSum: boolean;
  sumBytes: Buffer[];
}

const newSession = (): Session => ({ left: 0, first: true, sum: 0, length: 0, fragments: 0, awaitingSum: false, sumBytes: [] });

function sumOf(b: Uint8Array, start: number): number {
  let s = start;
  for (const x of b) s = (s + x) >>> 0;
  return s;
}

/** Server side: one fragment (or the checksum) per WRITEABLE, forever. */
function serverWriteable(wsi: Wsi, s: Session, report: (r: FraggleReport) => void): void {
  if (s.first) {
    // A new message: 1..1024 fragments of 1..512 bytes each, as the C fraggle.
    s.left = randomInt(1, 1025);
    s.fragments = s.left;
    s.sum = s.length = 0;
    s.first = false;
  }
  if (s.left > 0) {
    const frag = randomBytes(randomInt(1, 513));
    s.sum = sumOf(frag, s.sum);
    s.length += frag.length;
    const isFirst = s.left === s.fragments;
    s.left--;
    wsi.write(frag, (isFirst ? Write.BINARY : Write.CONTINUATION) | (s.left > 0 ? Write.NO_FIN : 0));
  } else {
    const cs = Buffer.alloc(4);
    cs.writeUInt32BE(s.sum);
    wsi.write(cs, Write.BINARY);
    report({ length: s.length, fragments: s.fragments, sum: s.sum });
    s.first = true;
  }
  wsi.callbackOnWritable();
}

/** Client side: sum until the final fragment, then compare with the checksum message. */
function clientReceive(wsi: Wsi, s: Session, data: Uint8Array, report: (r: FraggleReport) => void): void {
  if (!s.awaitingSum) {
    s.sum = sumOf(data, s.sum);
    s.length += data.length;
    s.fragments++;
    if (wsi.isFinalFragment()) s.awaitingSum = true;
    return;
  }
  s.sumBytes.push(Buffer.from(data));
  if (!wsi.isFinalFragment()) return;
  const cs = Buffer.concat(s.sumBytes);
  const serverSum = cs.length === 4 ? cs.readUInt32BE(0) : -1;
  report({ length: s.length, fragments: s.fragments, sum: s.sum, serverSum, correct: serverSum === s.sum });
  Object.assign(s, newSession());
}

/**
 * The `fraggle-protocol` of lws's test-fraggle, both sides in one callback:
 * as a server it sends randomly fragmented BINARY messages each followed by
 * a 4-byte big-endian byte sum; as a client it checks the sums. `report`
 * hears of every finished message; `closed` of the connection's end.
 *
 * ```ts
 * createContext({ port: 7681, protocols: [http, createFraggleProtocol((r) => console.log(r), () => {})] });
 * ```
 */
export function createFraggleProtocol(report: (r: FraggleReport) => void, closed: (wsi: Wsi) => void,
  established?: (wsi: Wsi) => void): Protocol {
  return {
    name: FRAGGLE_PROTOCOL,
    // Large pieces keep the RECEIVE count close to the fragments sent.
    rxBufferSize: 4096,
    createSessionData: newSession,
    callback(wsi, reason, user, input): number {
      const s = user as Session;
      switch (reason) {
        case Reason.ESTABLISHED:
          established?.(wsi);
          wsi.callbackOnWritable();
          break;
        case Reason.SERVER_WRITEABLE:
          serverWriteable(wsi, s, report);
          break;
        case Reason.CLIENT_ESTABLISHED:
          established?.(wsi);
          break;
        case Reason.CLIENT_RECEIVE:
          clientReceive(wsi, s, input, report);
          break;
        case Reason.CLIENT_CONNECTION_ERROR:
          process.stderr.write(`lws-test-fraggle: connection failed: ${input}\n`);
          closed(wsi);
          break;
        case Reason.CLOSED:
        case Reason.CLIENT_CLOSED:
          closed(wsi);
          break;
      }
      return 0;
    },
  };
}
