/**
 * The topic bus between SMP services: a publish made in one service
 * reaches the subscribers of every service once, in order, and goes only
 * to services that want its topic. Real processes: a small program is
 * written to a temp dir, importing the built package, and run as the
 * primary; clients tell the service serving them what to do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOPIC_BUS_MAX_IN_FLIGHT, type TopicBusStats } from '../../src/index.js';
import { distSrcUrl } from '../helpers/paths.js';
import { OP, RawWs } from '../helpers/ws.js';

/**
 * Commands (text messages): `who`; `sub TOPIC`; `pub TOPIC N PREFIX`
 * (N publishes PREFIX0 … on the vhost, the bus counters before and after
 * in the reply); `bin TOPIC` (one binary publish); `stats`. Replies are
 * JSON objects; published messages are what else arrives.
 */
const PROGRAM = `
import { createContext, Reason, Write } from ${JSON.stringify(distSrcUrl('index.js'))};
const ctx = createContext({
  port: 0, countThreads: 2,
  protocols: [{
    name: 'bus',
    callback(wsi, reason, pss, input) {
      if (reason !== Reason.RECEIVE) return 0;
      const [cmd, a, b, c] = Buffer.from(input).toString().split(' ');
      const reply = (o) => wsi.write(Buffer.from(JSON.stringify({ tsi: wsi.tsi, pid: process.pid, ...o })), Write.TEXT);
      if (cmd === 'who') reply({});
      else if (cmd === 'sub') reply({ sub: wsi.subscribe(a) });
      else if (cmd === 'pub') {
        const before = wsi.context.topicBusStats;
        for (let i = 0; i < Number(b); i++) wsi.vhost.publish(a, c + i);
        reply({ before, after: wsi.context.topicBusStats });
      } else if (cmd === 'bin') wsi.vhost.publish(a, Buffer.from([0, 1, 2, 255]));
      else if (cmd === 'stats') reply({ stats: wsi.context.topicBusStats });
      return 0;
    },
  }],
});
process.once('SIGTERM', () => ctx.destroy().then(() => process.exit(0)));
if (ctx.tsi < 0) ctx.listening.then(() => console.log('ready ' + ctx.vhosts[0].port), (e) => { console.error(e.message); process.exit(1); });
`;

interface Primary {
  proc: ChildProcess;
  port: number;
  exited: Promise<void>;
  pids: Set<number>;
  dir: string;
}

async function startPrimary(): Promise<Primary> {
  const dir = mkdtempSync(join(tmpdir(), 'tslws-smpbus-'));
  const file = join(dir, 'server.mjs');
  writeFileSync(file, PROGRAM);
  const proc = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const end = Date.now() + 10_000;
  for (;;) {
    const m = /ready (\d+)/.exec(out);
    if (m) return { proc, port: Number(m[1]), exited, pids: new Set(), dir };
    if (proc.exitCode !== null || Date.now() > end) {
      proc.kill('SIGKILL');
      throw new Error(`the primary did not start: ${out} ${err}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function cleanup(p: Primary): Promise<void> {
  if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
  await p.exited;
  for (const pid of p.pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(p.dir, { recursive: true, force: true });
}

interface Reply {
  tsi: number;
  pid: number;
  sub?: boolean;
  stats?: TopicBusStats;
  before?: TopicBusStats;
  after?: TopicBusStats;
}

/** A client and everything it was sent: replies (JSON) apart from published messages. */
class Client {
  readonly published: Array<{ text: string; binary: boolean; data: Buffer }> = [];
  readonly replies: Reply[] = [];
  #reading = true;
  constructor(readonly ws: RawWs, readonly tsi: number, readonly pid: number) {}

  static async open(p: Primary): Promise<Client> {
    const ws = await RawWs.open(p.port, { protocol: 'bus', timeoutMs: 5000 });
    ws.send(OP.TEXT, 'who');
    const m = await ws.message(5000);
    const r = JSON.parse(m.data.toString()) as Reply;
    p.pids.add(r.pid);
    const c = new Client(ws, r.tsi, r.pid);
    void c.#pump();
    return c;
  }

  async #pump(): Promise<void> {
    while (this.#reading) {
      let m: { opcode: number; data: Buffer };
      try {
        m = await this.ws.message(60_000);
      } catch {
        return;
      }
      const text = m.data.toString();
      if (m.opcode === OP.TEXT && text.startsWith('{')) this.replies.push(JSON.parse(text) as Reply);
      else this.published.push({ text, binary: m.opcode === OP.BINARY, data: m.data });
    }
  }

  /** Send a command and wait for its reply. */
  async ask(cmd: string): Promise<Reply> {
    const n = this.replies.length;
    this.ws.send(OP.TEXT, cmd);
    await this.until(() => this.replies.length > n, `a reply to ${cmd}`);
    return this.replies[n] as Reply;
  }

  /** Published texts starting with `prefix`, in arrival order. */
  texts(prefix: string): string[] {
    return this.published.filter((m) => m.text.startsWith(prefix)).map((m) => m.text);
  }

  async until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what} (tsi ${this.tsi})`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  close(): void {
    this.#reading = false;
    this.ws.destroy();
  }
}

/** Open clients until one is served by each wanted service index, in that order. */
async function clientsOn(p: Primary, tsis: number[], extra: Client[]): Promise<Client[]> {
  const out: Array<Client | undefined> = tsis.map(() => undefined);
  for (let i = 0; i < 40 && out.some((c) => !c); i++) {
    const c = await Client.open(p);
    const k = tsis.findIndex((t, j) => t === c.tsi && !out[j]);
    if (k >= 0) out[k] = c;
    else extra.push(c);
  }
  assert.ok(out.every((c) => c), `clients on services ${tsis}`);
  return out as Client[];
}

/**
 * Publish `warm…` from `from` until `to` gets one: then the primary knows
 * `to`'s service wants the topic (its subscription went over another
 * channel, with no order against `from`'s publishes).
 */
let warmings = 0;
async function warm(from: Client, to: Client, topic: string): Promise<void> {
  const end = Date.now() + 5000;
  const prefix = `W${++warmings}_`;
  while (to.texts(prefix).length === 0) {
    assert.ok(Date.now() < end, 'the subscription reached the primary');
    await from.ask(`pub ${topic} 1 ${prefix}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const seq = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => prefix + i);
const quiet = (): Promise<void> => new Promise((r) => setTimeout(r, 300));

test('SMP topic bus: a publish reaches the subscribers of every service once, in order; only services that want a topic get it', async (t) => {
  const p = await startPrimary();
  const spare: Client[] = [];
  t.after(() => cleanup(p));
  // a (service 0) publishes and subscribes; b (service 1) subscribes; c (service 0) only to a topic nobody else wants.
  const [a, b, c] = await clientsOn(p, [0, 1, 0], spare);
  t.after(() => [a, b, c, ...spare].forEach((x) => x.close()));
  assert.notEqual(a.pid, b.pid);
  assert.equal((await a.ask('sub room')).sub, true);
  assert.equal((await b.ask('sub room')).sub, true);
  assert.equal((await c.ask('sub lonely')).sub, true);
  await warm(a, b, 'room');

  // 100 from service 0: each subscriber once, in order; a (on the publishing service) not twice.
  await a.ask('pub room 100 m');
  await b.until(() => b.texts('m').length >= 100, 'b gets 100');
  await a.until(() => a.texts('m').length >= 100, 'a gets 100');
  await quiet();
  assert.deepEqual(b.texts('m'), seq('m', 100), 'the other service: every message once, in order');
  assert.deepEqual(a.texts('m'), seq('m', 100), 'the publishing service: every message once, in order');
  assert.deepEqual(c.texts('m'), [], 'not subscribed: nothing');

  // The other way: from service 1 to service 0.
  await warm(b, a, 'room');
  await b.ask('pub room 100 r');
  await a.until(() => a.texts('r').length >= 100, 'a gets 100 from service 1');
  await quiet();
  assert.deepEqual(a.texts('r'), seq('r', 100));
  assert.deepEqual(b.texts('r'), seq('r', 100));

  // Binary stays binary, bytes intact.
  a.ws.send(OP.TEXT, 'bin room');
  await b.until(() => b.published.some((m) => m.binary), 'a binary message');
  assert.deepEqual([...b.published.find((m) => m.binary)!.data], [0, 1, 2, 255]);

  // A topic only service 0 wants: service 1 is sent nothing of it.
  await quiet();
  const before = (await b.ask('stats')).stats!;
  const sent0 = (await a.ask('stats')).stats!.sent;
  await a.ask('pub lonely 50 x');
  await a.ask('pub room 1 Q');
  await b.until(() => b.texts('Q').length === 1, 'the mark');
  await c.until(() => c.texts('x').length === 50, 'c gets 50');
  assert.deepEqual(c.texts('x'), seq('x', 50));
  const after = (await b.ask('stats')).stats!;
  assert.equal(after.received - before.received, 1, 'service 1 received the mark only, nothing of "lonely"');
  assert.equal((await a.ask('stats')).stats!.sent - sent0, 51, 'service 0 sent each publish to the primary once');
  assert.deepEqual(b.texts('x'), []);
});

test('SMP topic bus: publishes past the bound of messages in flight are dropped and counted', async (t) => {
  const p = await startPrimary();
  const spare: Client[] = [];
  t.after(() => cleanup(p));
  const [a] = await clientsOn(p, [0], spare);
  t.after(() => [a, ...spare].forEach((x) => x.close()));
  // One synchronous burst: nothing written to the channel calls back before it ends.
  const r = await a.ask('pub nobody 3000 d');
  const room = TOPIC_BUS_MAX_IN_FLIGHT - r.before!.inFlight;
  assert.equal(r.after!.sent - r.before!.sent, room, 'sent up to the bound');
  assert.equal(r.after!.dropped - r.before!.dropped, 3000 - room, 'the rest dropped and counted');
  // Once written, the channel takes publishes again.
  const end = Date.now() + 5000;
  let s = (await a.ask('stats')).stats!;
  while (s.inFlight > 0 && Date.now() < end) s = (await a.ask('stats')).stats!;
  assert.equal(s.inFlight, 0);
  const again = await a.ask('pub nobody 10 e');
  assert.equal(again.after!.sent - again.before!.sent, 10);
  assert.equal(again.after!.dropped, again.before!.dropped);
});

test('SMP topic bus: after a service is killed and restarted, publishes keep reaching every service', async (t) => {
  const p = await startPrimary();
  const spare: Client[] = [];
  t.after(() => cleanup(p));
  const [a, b] = await clientsOn(p, [0, 1], spare);
  t.after(() => [a, b, ...spare].forEach((x) => x.close()));
  await a.ask('sub room');
  await b.ask('sub room');
  await warm(a, b, 'room');

  process.kill(b.pid, 'SIGKILL');
  assert.ok(await b.ws.closedWithin(3000), 'the killed service closed its connection');
  // The survivor: its own publishes, and no harm from the dead service's subscription.
  await a.ask('pub room 20 k');
  await a.until(() => a.texts('k').length >= 20, 'a gets 20 with service 1 dead');
  assert.deepEqual(a.texts('k'), seq('k', 20));

  // The restarted service (a new pid) subscribes afresh; both directions work.
  let b2: Client | undefined;
  const end = Date.now() + 15_000;
  while (!b2 && Date.now() < end) {
    const x = await Client.open(p);
    if (x.tsi === 1 && x.pid !== b.pid) b2 = x;
    else {
      spare.push(x);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  assert.ok(b2, 'service 1 restarted');
  t.after(() => b2!.close());
  await b2.ask('sub room');
  await warm(a, b2, 'room');
  await a.ask('pub room 100 z');
  await b2.until(() => b2!.texts('z').length >= 100, 'the restarted service gets 100');
  await warm(b2, a, 'room');
  await b2.ask('pub room 10 y');
  await a.until(() => a.texts('y').length >= 10, 'a gets what the restarted service published');
  await quiet();
  assert.deepEqual(b2.texts('z'), seq('z', 100));
  assert.deepEqual(a.texts('z'), seq('z', 100));
  assert.deepEqual(a.texts('y'), seq('y', 10));
});
