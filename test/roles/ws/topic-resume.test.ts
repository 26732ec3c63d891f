/**
 * The bus-independent parts of resuming and server-side listeners, in one
 * process: a resume with no history to serve it is told so (TOPIC_GAP
 * `no-history`) and the subscription goes on live; a malformed position is
 * refused with TSLWS_INVALID_ARGUMENT; `vhost.onTopic` listeners get every
 * delivery and count as subscribers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { createContext, ErrorCode, Reason, type Protocol, type TopicGapReport, type TslwsError } from '../../../src/index.js';
import { until } from '../../helpers/ws.js';

test('resume without history: TOPIC_GAP no-history, live messages still come; a bad position is refused', async (t) => {
  const gaps: TopicGapReport[] = [];
  const errors: string[] = [];
  const proto: Protocol = {
    name: 't',
    callback(wsi, reason, _pss, input) {
      if (reason === Reason.ESTABLISHED) {
        for (const bad of [{ epoch: 'e' }, { epoch: '', offset: '1-0' }, 'x', { epoch: 'e', offset: 'o'.repeat(200) }]) {
          try {
            wsi.subscribe('t', { since: bad as never });
          } catch (e) {
            errors.push((e as TslwsError).code);
          }
        }
        assert.equal(wsi.isSubscribed('t'), false, 'a refused resume subscribes nothing');
        wsi.subscribe('t', { since: { epoch: 'e1', offset: '5-0' } });
      }
      if (reason === Reason.TOPIC_GAP) gaps.push(input as TopicGapReport);
      return 0;
    },
  };
  const ctx = createContext({ port: 0, iface: '127.0.0.1', protocols: [proto] });
  t.after(() => ctx.destroy());
  await ctx.listening;
  const vh = ctx.vhosts[0];
  const got: string[] = [];
  const ws = new WebSocket(`ws://127.0.0.1:${vh.port}/`, 't');
  t.after(() => ws.terminate());
  ws.on('message', (d: Buffer) => got.push(d.toString()));
  await new Promise((r) => ws.once('open', r));
  assert.ok(await until(() => gaps.length === 1, 2000));
  assert.deepEqual(errors, Array(4).fill(ErrorCode.INVALID_ARGUMENT));
  assert.deepEqual(gaps, [{ topic: 't', cause: 'no-history', since: { epoch: 'e1', offset: '5-0' } }]);
  vh.publish('t', 'live');
  assert.ok(await until(() => got.length === 1, 2000));
  assert.deepEqual(got, ['live']);
});

test('vhost.onTopic: a listener gets every delivery and counts as a subscriber', async (t) => {
  const changes: string[] = [];
  const ctx = createContext({
    port: 0, iface: '127.0.0.1',
    protocols: [{
      name: 'p',
      callback(_wsi, reason, _pss, input) {
        if (reason === Reason.TOPIC_SUBSCRIBERS) changes.push(`${(input as { topic: string }).topic}:${(input as { subscribers: number }).subscribers}`);
        return 0;
      },
    }],
  });
  t.after(() => ctx.destroy());
  const vh = ctx.vhosts[0];
  const heard: string[] = [];
  const fn = (p: Buffer, binary: boolean): void => void heard.push(`${binary ? 'b' : 't'}:${p.toString()}`);
  assert.equal(vh.onTopic('s', fn), true);
  assert.equal(vh.onTopic('s', fn), false);
  vh.publish('s', 'one');
  vh.publish('s', Buffer.from('two'));
  assert.deepEqual(heard, ['t:one', 'b:two']);
  assert.equal(vh.offTopic('s', fn), true);
  assert.equal(vh.offTopic('s', fn), false);
  vh.publish('s', 'three');
  assert.deepEqual(heard, ['t:one', 'b:two']);
  assert.deepEqual(changes, ['s:1', 's:0']);
  assert.throws(() => vh.onTopic('s', 'x' as never), (e: TslwsError) => e.code === ErrorCode.INVALID_ARGUMENT);
});
