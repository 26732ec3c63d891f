import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reason, PendingTimeout } from '../../../src/index.js';
import { start } from '../../helpers/common.js';
import { RawWs, OP, echoProtocol, closePayload, parseClose, until } from '../../helpers/ws.js';

test('the idle ping check never overwrites a timeout the user set', async () => {
  // The user arms a 1 s timeout at ESTABLISHED; pings every 1 s with an
  // answering client must not push it back.
  const { proto, log } = echoProtocol({
    hook(wsi, reason) {
      if (reason === Reason.ESTABLISHED) wsi.setTimeout(PendingTimeout.USER_BASE + 7, 1);
      return undefined;
    },
  });
  const { ctx, port } = await start({ protocols: [proto], ws: { pingPongSecs: 1 } });
  try {
    const c = await RawWs.open(port);
    const t0 = Date.now();
    const answer = setInterval(() => {
      for (const f of c.all.filter((x) => x.opcode === OP.PING && !(x as { answered?: boolean }).answered)) {
        (f as { answered?: boolean }).answered = true;
        c.send(OP.PONG, f.payload);
      }
      c.send(OP.TEXT, 'keep busy');
    }, 100);
    try {
      assert.ok(await c.closedWithin(3000), 'the user timeout closed the connection');
      const took = Date.now() - t0;
      assert.ok(took >= 900 && took < 2600, `closed by the 1 s user timeout (${took} ms)`);
      assert.equal(log.closed, 1);
    } finally {
      clearInterval(answer);
      c.destroy();
    }
  } finally {
    await ctx.destroy();
  }
});

test('close codes 1012-1014 (registered with IANA) are accepted and echoed', async () => {
  const { proto } = echoProtocol();
  const { ctx, port } = await start({ protocols: [proto] });
  try {
    for (const code of [1012, 1013, 1014]) {
      const c = await RawWs.open(port);
      c.send(OP.CLOSE, closePayload(code, 'x'));
      assert.ok(await until(() => c.all.some((f) => f.opcode === OP.CLOSE), 2000), `close answered for ${code}`);
      const f = c.all.find((x) => x.opcode === OP.CLOSE);
      assert.equal(f && parseClose(f).code, code);
      c.destroy();
    }
  } finally {
    await ctx.destroy();
  }
});
