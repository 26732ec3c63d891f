/**
 * Typed callbacks: `switch (reason)` narrows `input` to what that reason
 * delivers, in object-literal methods, in functions typed with the exported
 * callback types and in plugins, while `user` keeps the session type. Most
 * of this file is checked by the compiler: were the narrowing lost, the
 * plain assignments would fail the build, and the `@ts-expect-error` lines
 * prove that a wrong type is still refused. The tests then run a real
 * server and check that what arrives at run time is what the types say.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import {
  createContext, callbackHttpDummy, Reason, Write, SslInfo,
  type CallbackArgs, type CallbackInput, type ClientCertVerification, type ClientHeaderAppender, type ClientSslOptions,
  type Plugin, type Protocol, type ProtocolCallback, type PvoOptions, type ReasonInput, type SslInfoEvent,
  type VhostTlsSetup, type Wsi,
} from '../../src/index.js';
import { start } from '../helpers/common.js';
import { openWs, wsClosed, nextMessages } from '../helpers/ws-peer.js';

/** Compiles only when `v` is a `T`. */
function is<T>(_v: T): void {}

/** True only when A and B are the same type. */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;

// Every reason has an input type, and a few are exactly what they should be.
const complete: [Exclude<Reason, keyof ReasonInput>] extends [never] ? true : false = true;
const receiveIsBuffer: Same<CallbackInput<Reason.RECEIVE>, Buffer> = true;
const httpIsString: Same<CallbackInput<Reason.HTTP>, string> = true;
const initIsPvo: Same<CallbackInput<Reason.PROTOCOL_INIT>, PvoOptions> = true;
const establishedIsUndefined: Same<CallbackInput<Reason.ESTABLISHED>, undefined> = true;
// @ts-expect-error RECEIVE does not deliver a string
const receiveIsString: Same<CallbackInput<Reason.RECEIVE>, string> = true;

interface Session {
  pieces: Buffer[];
  out: Buffer[];
}

// An object-literal method inside createContext: every reason that has an input narrows it.
function literalMethodInContext(): void {
  createContext({
    port: 0,
    protocols: [{
      name: 'narrow',
      callback(wsi, reason, user, input) {
        switch (reason) {
          case Reason.RECEIVE: {
            const b: Buffer = input;
            // @ts-expect-error a RECEIVE piece is not a string
            is<string>(input);
            return b.length;
          }
          case Reason.HTTP: {
            const path: string = input;
            // @ts-expect-error the HTTP path is not a Buffer
            is<Buffer>(input);
            return path.length;
          }
          case Reason.ESTABLISHED:
            is<undefined>(input);
            // @ts-expect-error ESTABLISHED has no input
            is<Buffer>(input);
            return 0;
          case Reason.HTTP_BODY:
          case Reason.RAW_RX:
          case Reason.CLIENT_RECEIVE:
          case Reason.RECEIVE_PONG:
          case Reason.WS_PEER_INITIATED_CLOSE:
            is<Buffer>(input);
            return 0;
          case Reason.FILTER_NETWORK_CONNECTION:
          case Reason.FILTER_HTTP_CONNECTION:
          case Reason.FILTER_PROTOCOL_CONNECTION:
          case Reason.CLIENT_CONNECTION_ERROR:
          case Reason.CONFIRM_EXTENSION_OKAY:
            is<string>(input);
            return 0;
          case Reason.PROTOCOL_INIT:
            is<PvoOptions>(input);
            return 0;
          case Reason.SSL_INFO:
            is<SslInfoEvent>(input);
            return input.where === SslInfo.READ_ALERT ? 1 : 0;
          case Reason.OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION:
            is<ClientCertVerification>(input);
            return input.authorized ? 0 : 1;
          case Reason.OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
          case Reason.OPENSSL_CONTEXT_REQUIRES_PRIVATE_KEY:
            is<VhostTlsSetup>(input);
            return 0;
          case Reason.OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS:
            is<ClientSslOptions>(input);
            input.ca = 'PEM';
            return 0;
          case Reason.CLIENT_APPEND_HANDSHAKE_HEADER:
            is<ClientHeaderAppender>(input);
            input.add('x-typed', '1');
            return 0;
        }
        is<unknown>(user);
        // After the switch the pairing is gone, and the input may be anything.
        // @ts-expect-error not every reason's input is a Buffer
        is<Buffer>(input);
        return callbackHttpDummy(wsi, reason, user, input);
      },
    }],
  });
}

// A typed Protocol<Session>: `user` is the session, `input` narrows.
const typedProtocol: Protocol<Session> = {
  name: 'typed',
  createSessionData: () => ({ pieces: [], out: [] }),
  callback(wsi, reason, user, input) {
    is<Session>(user);
    // @ts-expect-error the session has no such field
    is<number>(user.missing);
    if (reason === Reason.RECEIVE) user.pieces.push(input);
    if (reason === Reason.CLIENT_CONNECTION_ERROR) is<string>(input);
    is<Wsi>(wsi);
    return 0;
  },
};

// Standalone functions, typed with the exported callback types.
const arrow: ProtocolCallback<Session> = (_wsi, reason, user, input) => {
  switch (reason) {
    case Reason.RECEIVE:
      user.pieces.push(input);
      break;
    case Reason.HTTP:
      // @ts-expect-error the HTTP path is not a Buffer
      user.pieces.push(input);
      break;
  }
  return 0;
};

function declared(...[_wsi, reason, user, input]: CallbackArgs<Session>): number {
  if (reason === Reason.HTTP_BODY) user.pieces.push(input);
  if (reason === Reason.PROTOCOL_INIT) is<PvoOptions>(input);
  return 0;
}

// Callbacks written with wide types, as before, still fit.
function wide(_wsi: Wsi, _reason: Reason, _user: Session, _input: CallbackInput): number {
  return 0;
}

// A plugin carries protocols of any session type.
const plugin: Plugin = {
  name: 'protocol_typed',
  protocols: [typedProtocol, { name: 'arrow', callback: arrow }, { name: 'declared', callback: declared },
    { name: 'wide', callback: wide }],
};

// Calls are checked the same way: reason and input must go together.
function calls(p: Protocol<Session>, wsi: Wsi, s: Session): void {
  p.callback(wsi, Reason.RECEIVE, s, Buffer.alloc(1));
  // @ts-expect-error RECEIVE takes a Buffer, not a string
  p.callback(wsi, Reason.RECEIVE, s, 'text');
  // @ts-expect-error the user must be the protocol's session type
  p.callback(wsi, Reason.ESTABLISHED, 42, undefined);
}

test('the type-level checks above are part of the build', () => {
  assert.equal(complete && receiveIsBuffer && httpIsString && initIsPvo && establishedIsUndefined && receiveIsString, true);
  assert.equal(typeof literalMethodInContext, 'function');
  assert.equal(typeof calls, 'function');
  assert.equal(plugin.protocols.length, 4);
});

/** What an input is at run time, to compare with what its type says. */
function kindOf(input: unknown): string {
  if (Buffer.isBuffer(input)) return 'Buffer';
  if (input === undefined) return 'undefined';
  return typeof input;
}

test('a server with narrowed callbacks gets at run time what the types say', async () => {
  const kinds = new Map<string, Set<string>>();
  const note = (reason: Reason, input: unknown): void => {
    const k = Reason[reason];
    if (!kinds.has(k)) kinds.set(k, new Set());
    kinds.get(k)!.add(kindOf(input));
  };
  let path = '';
  let closeStatus = 0;
  const http: Protocol = {
    name: 'http',
    callback(wsi, reason, user, input) {
      note(reason, input);
      switch (reason) {
        case Reason.HTTP: {
          path = input;
          const body = Buffer.from(`path ${input}`);
          wsi.addHttpHeaderStatus(200);
          wsi.addHttpHeaderContentLength(body.length);
          wsi.write(wsi.finalizeHttpHeader(), Write.HTTP_HEADERS);
          wsi.write(body, Write.HTTP_FINAL);
          return 0;
        }
        case Reason.FILTER_NETWORK_CONNECTION:
          return input === '127.0.0.1' ? 0 : -1;
      }
      return callbackHttpDummy(wsi, reason, user, input);
    },
  };
  const upper: Protocol<Session> = {
    name: 'upper',
    createSessionData: () => ({ pieces: [], out: [] }),
    callback(wsi, reason, user, input) {
      note(reason, input);
      switch (reason) {
        case Reason.RECEIVE: {
          const b: Buffer = input;
          user.pieces.push(Buffer.from(b));
          if (wsi.isFinalFragment()) {
            user.out.push(Buffer.from(Buffer.concat(user.pieces).toString().toUpperCase()));
            user.pieces = [];
            wsi.callbackOnWritable();
          }
          return 0;
        }
        case Reason.SERVER_WRITEABLE:
          for (const m of user.out.splice(0)) wsi.write(m, Write.TEXT);
          return 0;
        case Reason.WS_PEER_INITIATED_CLOSE: {
          const payload: Buffer = input;
          closeStatus = payload.length >= 2 ? payload.readUInt16BE(0) : 0;
          return 0;
        }
      }
      return 0;
    },
  };
  const { ctx, port, url } = await start({ protocols: [http, upper], pvo: { upper: { greeting: 'hi' } } });
  try {
    const r = await fetch(`${url}/typed/path?x=1`);
    assert.equal(await r.text(), 'path /typed/path');
    assert.equal(path, '/typed/path');

    const ws: WebSocket = await openWs(`ws://127.0.0.1:${port}/`, false, ['upper']);
    const got = nextMessages(ws, 1);
    ws.send('hello');
    assert.equal((await got)[0].data.toString(), 'HELLO');
    const closed = wsClosed(ws);
    ws.close(4000, 'bye');
    assert.equal((await closed).code, 4000);
  } finally {
    await ctx.destroy();
  }
  assert.equal(closeStatus, 4000);

  // What each reason carried, as ReasonInput types it.
  const expected: Record<string, string> = {
    PROTOCOL_INIT: 'object', FILTER_NETWORK_CONNECTION: 'string', WSI_CREATE: 'undefined',
    SERVER_NEW_CLIENT_INSTANTIATED: 'undefined', FILTER_HTTP_CONNECTION: 'string', HTTP: 'string',
    FILTER_PROTOCOL_CONNECTION: 'string', ESTABLISHED: 'undefined', RECEIVE: 'Buffer', SERVER_WRITEABLE: 'undefined',
    WS_PEER_INITIATED_CLOSE: 'Buffer', CLOSED: 'undefined', WSI_DESTROY: 'undefined', PROTOCOL_DESTROY: 'undefined',
  };
  for (const reason of Object.keys(expected)) assert.ok(kinds.has(reason), `${reason} came`);
  // The others that came (CLOSED_HTTP …) carry nothing.
  for (const [reason, seen] of kinds) assert.deepEqual([...seen], [expected[reason] ?? 'undefined'], reason);
});
