/**
 * A small tslws server attached to a Redis topic bus, run as a child
 * process by the Redis bus tests: `node bus-server.js URL NODE HISTORY
 * [MAX_BUFFERED [sharded|cluster]]`. It prints `ready PORT` once listening.
 *
 * Clients speak text commands; replies are JSON objects (published
 * messages are whatever else arrives):
 * `sub T`, `resume T EPOCH OFFSET`, `pub T N PREFIX [FROM]` (N publishes PREFIX<FROM> …, the
 * error code of a refused one in `refused`), `pos T`, `stats`.
 * A TOPIC_GAP is written as `{"gap": cause, "topic": T, "since": …}`.
 */
import { createContext, Reason, Write, type Protocol, type TslwsError } from '../../src/index.js';
import { createRedisTopicBus, attachRedisTopicBus } from '../../src/redis/index.js';

const [url, node, history, maxBuffered, sharded] = process.argv.slice(2);

const bus = await createRedisTopicBus({
  url: url as string, node, history: Number(history ?? 0),
  ...(sharded === 'cluster' ? { cluster: true } : { sharded: sharded === 'sharded' }),
  maxBufferedMessages: Number(maxBuffered ?? 10_000), reconnectMinMs: 50, reconnectMaxMs: 300, replayTimeoutMs: 4000,
});

const proto: Protocol = {
  name: 't',
  callback(wsi, reason, _pss, input) {
    const reply = (o: object): void => {
      if (!wsi.closed) wsi.write(Buffer.from(JSON.stringify({ node, ...o })), Write.TEXT);
    };
    if (reason === Reason.TOPIC_GAP) {
      const g = input as { topic: string; cause: string; since: unknown };
      reply({ gap: g.cause, topic: g.topic, since: g.since });
      return 0;
    }
    if (reason !== Reason.RECEIVE) return 0;
    const [cmd, a, b, c, d] = Buffer.from(input as Uint8Array).toString().split(' ');
    const topic = a as string;
    if (cmd === 'sub') reply({ sub: wsi.subscribe(topic) });
    else if (cmd === 'resume') reply({ sub: wsi.subscribe(topic, { since: { epoch: b as string, offset: c as string } }) });
    else if (cmd === 'pub') {
      let refused: string | null = null;
      let sent = 0;
      const from = Number(d ?? 0);
      for (let i = from; i < from + Number(b); i++) {
        try {
          wsi.vhost.publish(topic, `${c}${i}`);
          sent++;
        } catch (e) {
          refused = (e as TslwsError).code;
          break;
        }
      }
      reply({ published: sent, refused, stats: bus.stats() });
    } else if (cmd === 'pos') reply({ pos: wsi.topicPosition(topic) });
    // The context's view of the same counters.
    else if (cmd === 'stats') reply({ stats: ctx.redisBusStats });
    return 0;
  },
};

const ctx = createContext({ port: 0, iface: '127.0.0.1', protocols: [proto] });
attachRedisTopicBus(ctx, bus);
process.once('SIGTERM', () => {
  bus.close();
  void ctx.destroy().then(() => process.exit(0));
});
await ctx.listening;
console.log(`ready ${ctx.vhosts[0]?.port}`);
