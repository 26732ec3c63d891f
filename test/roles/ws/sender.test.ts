/**
 * The WebSocket sender can send a message framed elsewhere (one publish,
 * one frame, many subscribers) in order with what the connection's own
 * writes queued before and after it, compressed or not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { createContext, callbackHttpDummy, Reason, Write, ErrorCode, type Protocol, type TslwsError } from '../../../src/index.js';
import { wsOf } from '../../../src/roles/ws/wsi-api.js';
import { buildFrame, Op } from '../../../src/roles/ws/frame.js';

function framedText(s: string): Buffer {
  return buildFrame(Op.TEXT, true, false, Buffer.from(s), undefined);
}

async function run(perMessageDeflate: boolean): Promise<{ got: string[]; errors: string[] }> {
  const errors: string[] = [];
  const proto: Protocol = {
    name: 'framed',
    callback(wsi, reason, _user, _input) {
      if (reason === Reason.ESTABLISHED) wsi.callbackOnWritable();
      if (reason === Reason.SERVER_WRITEABLE) {
        const s = wsOf(wsi)!.sender;
        wsi.write(Buffer.from('first '.repeat(100)), Write.TEXT);
        s.sendFramed(framedText('second'));
        wsi.write(Buffer.from('third '.repeat(100)), Write.TEXT);
        // Not inside a fragmented message: a whole message cannot go in between.
        wsi.write(Buffer.from('four'), Write.TEXT | Write.NO_FIN);
        try {
          s.sendFramed(framedText('never'));
        } catch (e) {
          errors.push((e as TslwsError).code);
        }
        wsi.write(Buffer.from('th'), Write.CONTINUATION);
        s.sendFramed(framedText('fifth'));
      }
      return 0;
    },
  };
  const ctx = createContext({
    port: 0, iface: '127.0.0.1',
    protocols: [{ name: 'http', callback: callbackHttpDummy }, proto],
    ws: { perMessageDeflate: perMessageDeflate ? { threshold: 0 } : false },
  });
  try {
    await ctx.listening;
    const ws = new WebSocket(`ws://127.0.0.1:${ctx.vhosts[0].port}/`, 'framed', { perMessageDeflate });
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`only ${got.length} messages in 5 s`)), 5000);
      ws.on('message', (d: Buffer) => {
        got.push(d.toString());
        if (got.length === 5) {
          clearTimeout(t);
          resolve();
        }
      });
      ws.on('error', reject);
    });
    assert.equal(ws.extensions.includes('permessage-deflate'), perMessageDeflate);
    ws.close();
    return { got, errors };
  } finally {
    await ctx.destroy();
  }
}

for (const pmd of [false, true]) {
  test(`a message framed once is sent in order with the connection's own writes${pmd ? ' (permessage-deflate)' : ''}`, async () => {
    const { got, errors } = await run(pmd);
    assert.deepEqual(got, ['first '.repeat(100), 'second', 'third '.repeat(100), 'fourth', 'fifth']);
    assert.deepEqual(errors, [ErrorCode.WRITE_MISUSE]);
  });
}
