/**
 * External poll events: with `pollEvents`, protocols[0] sees each
 * connection's descriptor enter the table, its interest follow reading and
 * writing, and leave it on close; `servicePending()` counts owed work.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fstatSync } from 'node:fs';
import WebSocket from 'ws';
import {
  createContext, callbackHttpDummy, clientConnect, Poll, Reason, Write, type PollArgs, type ProtocolCallback, type TslwsError,
} from '../../src/index.js';
import { sleep } from '../helpers/common.js';
import { spawnBin, portOf, killChild, waitFor } from '../helpers/plugin-ws-client.js';

interface Seen { reason: string; fd: number; events: number; prev: number }

/** protocols[0]'s callback: records the poll reasons, answers HTTP as the dummy does. */
function recorder(seen: Seen[]): ProtocolCallback {
  return (...args) => {
    const [, reason, , input] = args;
    switch (reason) {
      case Reason.LOCK_POLL:
      case Reason.UNLOCK_POLL:
      case Reason.ADD_POLL_FD:
      case Reason.DEL_POLL_FD:
      case Reason.CHANGE_MODE_POLL_FD: {
        const a: PollArgs = input;
        seen.push({ reason: Reason[reason], fd: a.fd, events: a.events, prev: a.prevEvents });
        return 0;
      }
      default:
        return callbackHttpDummy(args[0], args[1], args[2], args[3]);
    }
  };
}

/** A WebSocket protocol that does what the client's text says: stop reading for a while, or write once. */
const ctl: ProtocolCallback = (...args) => {
  const [wsi, reason, , input] = args;
  if (reason === Reason.RECEIVE) {
    const cmd = input.toString();
    if (cmd === 'stop') {
      wsi.rxFlowControl(false);
      setTimeout(() => wsi.rxFlowControl(true), 150);
    } else if (cmd === 'write') wsi.callbackOnWritable();
  } else if (reason === Reason.SERVER_WRITEABLE) {
    wsi.write(Buffer.from('done'), Write.TEXT);
  }
  return 0;
};

test('pollEvents: a WebSocket connection is added, its interest follows reading and writing, and it is deleted on close', async () => {
  const seen: Seen[] = [];
  const ctx = createContext({
    port: 0, iface: '127.0.0.1', pollEvents: true,
    protocols: [{ name: 'http', callback: recorder(seen) }, { name: 'ctl', callback: ctl }],
  });
  try {
    await ctx.listening;
    const port = ctx.vhosts[0].port as number;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, 'ctl');
    await new Promise((r) => ws.once('open', r));
    const add = seen.find((s) => s.reason === 'ADD_POLL_FD');
    assert.ok(add, 'ADD_POLL_FD for the connection');
    assert.equal(add.events, Poll.IN, 'reading, nothing to write');
    assert.equal(add.prev, 0);
    // The descriptor is the socket's own: the same process can fstat it.
    assert.ok(fstatSync(add.fd).isSocket(), `fd ${add.fd} is a socket`);
    const fd = add.fd;

    const mark = seen.length;
    ws.send('stop');
    await waitFor(() => seen.slice(mark).some((s) => s.reason === 'CHANGE_MODE_POLL_FD' && !(s.events & Poll.IN)), 'reading to stop', 2000);
    await waitFor(() => seen.slice(mark).some((s) => s.reason === 'CHANGE_MODE_POLL_FD' && s.events & Poll.IN && !(s.prev & Poll.IN)), 'reading to resume', 2000);

    const mark2 = seen.length;
    const reply = new Promise<string>((r) => ws.once('message', (d) => r(String(d))));
    ws.send('write');
    assert.equal(await reply, 'done');
    const changes = seen.slice(mark2).filter((s) => s.reason === 'CHANGE_MODE_POLL_FD' && s.fd === fd);
    assert.ok(changes.some((s) => s.events & Poll.OUT && !(s.prev & Poll.OUT)), 'OUT when the WRITEABLE was asked for');
    assert.ok(changes.some((s) => !(s.events & Poll.OUT) && s.prev & Poll.OUT), 'OUT cleared once it was delivered');

    const closed = new Promise((r) => ws.once('close', r));
    ws.close();
    await closed;
    await waitFor(() => seen.some((s) => s.reason === 'DEL_POLL_FD' && s.fd === fd), 'DEL_POLL_FD', 2000);
    // Every change sits between LOCK_POLL and UNLOCK_POLL with the same arguments.
    for (let i = 0; i < seen.length; i++) {
      const s = seen[i];
      if (s.reason === 'LOCK_POLL' || s.reason === 'UNLOCK_POLL') continue;
      assert.deepEqual({ ...seen[i - 1], reason: '' }, { ...s, reason: '' });
      assert.equal(seen[i - 1].reason, 'LOCK_POLL');
      assert.equal(seen[i + 1].reason, 'UNLOCK_POLL');
    }
    const adds = seen.filter((s) => s.reason === 'ADD_POLL_FD').length;
    const dels = seen.filter((s) => s.reason === 'DEL_POLL_FD').length;
    assert.equal(adds, dels, 'every descriptor added was deleted');
  } finally {
    await ctx.destroy();
  }
});

test('pollEvents: a client connection enters the table once it has connected; without the option nothing is reported', async () => {
  const seen: Seen[] = [];
  const server = createContext({ port: 0, iface: '127.0.0.1', protocols: [{ name: 'http', callback: recorder(seen) }] });
  const clientSeen: Seen[] = [];
  let finished!: () => void;
  const done = new Promise<void>((r) => (finished = r));
  const record = recorder(clientSeen);
  const client = createContext({
    pollEvents: true,
    protocols: [{
      name: 'http',
      callback: (...args) => {
        const [wsi, reason] = args;
        if (reason === Reason.RECEIVE_CLIENT_HTTP) wsi.httpClientRead();
        if (reason === Reason.CLOSED_CLIENT_HTTP || reason === Reason.CLIENT_CONNECTION_ERROR) finished();
        return record(...args);
      },
    }],
  });
  try {
    await server.listening;
    const port = server.vhosts[0].port as number;
    clientConnect({ context: client, address: '127.0.0.1', port, path: '/', method: 'GET' });
    await done;
    await sleep(50);
    const add = clientSeen.find((s) => s.reason === 'ADD_POLL_FD');
    assert.ok(add, 'the client connection was added');
    assert.ok(add.fd >= 0, 'with its descriptor, once connected');
    assert.ok(clientSeen.some((s) => s.reason === 'DEL_POLL_FD' && s.fd === add.fd), 'and deleted');
    assert.equal(seen.length, 0, 'a context without pollEvents reports nothing');
  } finally {
    await client.destroy();
    await server.destroy();
  }
});

test('servicePending() counts WRITEABLEs owed this turn; pollEvents must be a boolean', async () => {
  const ctx = createContext({ port: 0, iface: '127.0.0.1', protocols: [{ name: 'http', callback: callbackHttpDummy }, { name: 'ctl', callback: ctl }] });
  try {
    await ctx.listening;
    const port = ctx.vhosts[0].port as number;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, 'ctl');
    await new Promise((r) => ws.once('open', r));
    // Ask for a WRITEABLE from inside the server: count before and after the turn that delivers it.
    const reply = new Promise<string>((r) => ws.once('message', (d) => r(String(d))));
    ctx.vhosts[0].callbackOnWritableAllProtocol(ctx.vhosts[0].protocolByName('ctl')!);
    const during = ctx.servicePending();
    assert.equal(await reply, 'done');
    const after = ctx.servicePending();
    assert.equal(during, 1, 'one connection owed a WRITEABLE');
    assert.equal(after, 0, 'nothing owed once it was delivered');
    ws.close();
  } finally {
    await ctx.destroy();
  }
  assert.throws(() => createContext({ pollEvents: 'yes' as unknown as boolean }),
    (e: TslwsError) => e.code === 'TSLWS_INVALID_OPTION' && /pollEvents/.test(e.message));
});

test('lws-test-server-extpoll prints the table: a connection is added, asks to write, and is deleted', async () => {
  const s = spawnBin('lws-test-server-extpoll', ['-p', '0', '-i', '127.0.0.1', '--raw-fifo', `/tmp/tslws-extpoll-${process.pid}.fifo`]);
  try {
    const port = await portOf(s, 10000);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, 'dumb-increment-protocol');
    let n = 0;
    ws.on('message', () => n++);
    await waitFor(() => n >= 3, 'three numbers', 5000);
    ws.close();
    await new Promise((r) => ws.once('close', r));
    await waitFor(() => /poll del fd \d+ /.test(s.stdout().split('serving')[1] ?? ''), 'the connection deleted', 5000);
    const out = s.stdout().split('serving')[1];
    const fd = /poll add fd (\d+) - -> IN;/.exec(out)?.[1];
    assert.ok(fd, out);
    assert.match(out, new RegExp(`poll change fd ${fd} IN -> IN\\|OUT; table \\[[^\\]]*${fd}:IN\\|OUT`));
    assert.match(out, new RegExp(`poll del fd ${fd} IN(\\|OUT)? -> -; table \\[(?![^\\]]*\\b${fd}:)`));
  } finally {
    killChild(s);
  }
});
