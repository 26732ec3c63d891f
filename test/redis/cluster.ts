/**
 * A real three-node Redis Cluster for the tests: Debian's redis-server
 * started three times with `--cluster-enabled yes` on free loopback ports,
 * joined by `redis-cli --cluster create`, no persistence, stopped by pid.
 * A missing redis-server or redis-cli fails the test with a clear message.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/lws-c-apps.js';
import { REDIS_SERVER, requireRedisServer } from '../helpers/redis.js';
import type { TestContext } from 'node:test';
import { stopBusServer, type BusClient, type BusServer } from './procs.js';

export const REDIS_CLI = '/usr/bin/redis-cli';

export interface RedisCluster {
  ports: number[];
  procs: ChildProcess[];
  dir: string;
  /** A seed URL (the first node). */
  url: string;
}

/** Run redis-cli with `args`; its standard output. */
export function cli(args: string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(REDIS_CLI, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`redis-cli ${args.join(' ')}: ${err.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}

async function until(what: string, cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`redis cluster: ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function spawnNode(dir: string, port: number): ChildProcess {
  return spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
    '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--dir', dir, '--save', '', '--appendonly', 'no',
    '--daemonize', 'no', '--loglevel', 'warning'], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/**
 * Wait until every node says `cluster_state:ok` and all of them give the
 * same owner for every slot, so whichever node a client asks for the slot
 * map, it gets the one the test reads (`ownerOf`).
 */
export async function clusterOk(c: RedisCluster, timeoutMs = 15_000): Promise<void> {
  for (const p of c.ports) {
    await until(`node ${p} did not reach cluster_state:ok`, async () => /cluster_state:ok/.test(await cli(['-p', String(p), 'CLUSTER', 'INFO'], 1000)), timeoutMs);
  }
  await until('the nodes did not agree on the slots', async () => {
    const maps = await Promise.all(c.ports.map(async (p) => slotOwners(await cli(['-p', String(p), 'CLUSTER', 'NODES'], 1000))));
    return maps.every((m) => m !== '' && m === maps[0]);
  }, timeoutMs);
}

/** Each node's address and slot ranges, from CLUSTER NODES, in a comparable form ('' while a slot has no owner). */
function slotOwners(nodes: string): string {
  const owners: string[] = [];
  let covered = 0;
  for (const line of nodes.trim().split('\n')) {
    const f = line.split(' ');
    const addr = (f[1] ?? '').split('@')[0];
    const ranges = f.slice(8).filter((r) => /^\d/.test(r));
    for (const r of ranges) {
      const [from, to] = r.split('-').map(Number) as [number, number | undefined];
      covered += (to ?? from) - from + 1;
    }
    if (ranges.length) owners.push(`${addr} ${ranges.join(',')}`);
  }
  return covered === 16384 ? owners.sort().join(';') : '';
}

/** Kill node `i` (SIGKILL: a crash, its data lost) and start it again on its port; it rejoins from its nodes file. */
export async function restartNode(c: RedisCluster, i: number): Promise<void> {
  const old = c.procs[i] as ChildProcess;
  if (old.exitCode === null && old.signalCode === null) {
    const gone = new Promise<void>((res) => old.once('exit', () => res()));
    old.kill('SIGKILL');
    await Promise.race([gone, new Promise((res) => setTimeout(res, 5000))]);
  }
  const port = c.ports[i] as number;
  c.procs[i] = spawnNode(c.dir, port);
  await until(`node ${port} did not answer PING after a restart`, async () => (await cli(['-p', String(port), 'PING'], 1000)).trim() === 'PONG', 5000);
}

export async function startCluster(): Promise<RedisCluster> {
  requireRedisServer();
  if (!existsSync(REDIS_CLI)) throw new Error(`${REDIS_CLI} is missing: install Debian's redis-tools (apt-get install redis-tools) to run the Redis Cluster tests`);
  const dir = mkdtempSync(join(tmpdir(), 'tslws-rcluster-'));
  const c: RedisCluster = { ports: [], procs: [], dir, url: '' };
  try {
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      c.ports.push(port);
      c.procs.push(spawnNode(dir, port));
    }
    for (const p of c.ports) await until(`node ${p} did not answer PING`, async () => (await cli(['-p', String(p), 'PING'], 1000)).trim() === 'PONG', 5000);
    await cli(['--cluster', 'create', ...c.ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], 30_000);
    await clusterOk(c);
    c.url = `redis://127.0.0.1:${c.ports[0]}`;
    return c;
  } catch (e) {
    await stopCluster(c);
    throw e;
  }
}

/**
 * Wait until the node on `port` counts `n` sharded subscribers of
 * `channel` (PUBSUB SHARDNUMSUB); returns the last count seen. A bus
 * answers its client's subscribe before Redis has the SSUBSCRIBE, and on
 * a busy machine the connection to the node can take seconds.
 */
export async function shardSubscribers(port: number, channel: string, n = 1, timeoutMs = 15_000): Promise<number> {
  let count = -1;
  await until(`node ${port} did not count ${n} subscriber(s) of ${channel}`, async () => {
    const out = await cli(['-p', String(port), 'PUBSUB', 'SHARDNUMSUB', channel], 1000);
    count = Number(/\n(\d+)\s*$/.exec(out)?.[1] ?? -1);
    return count >= n;
  }, timeoutMs).catch(() => { /* the caller asserts on the count */ });
  return count;
}

/** The port of the node that owns `key`'s slot, from CLUSTER NODES. */
export async function ownerOf(c: RedisCluster, key: string): Promise<number> {
  const slot = Number((await cli(['-p', String(c.ports[0]), 'CLUSTER', 'KEYSLOT', key])).trim());
  const nodes = await cli(['-p', String(c.ports[0]), 'CLUSTER', 'NODES']);
  for (const line of nodes.trim().split('\n')) {
    const f = line.split(' ');
    const port = Number(/:(\d+)@/.exec(f[1] ?? '')?.[1]);
    for (const range of f.slice(8)) {
      const [from, to] = range.split('-').map(Number) as [number, number | undefined];
      if (slot >= from && slot <= (to ?? from)) return port;
    }
  }
  throw new Error(`no node owns slot ${slot} of ${key}: ${nodes}`);
}

/** Kill every node (by pid) and remove the directory. */
export async function stopCluster(c: RedisCluster): Promise<void> {
  await Promise.all(c.procs.map((p) => new Promise<void>((res) => {
    if (p.exitCode !== null || p.signalCode !== null) return res();
    const t = setTimeout(res, 5000);
    p.once('exit', () => {
      clearTimeout(t);
      res();
    });
    p.kill('SIGKILL');
  })));
  rmSync(c.dir, { recursive: true, force: true });
}

/** A cluster and the bus servers and clients of one test, all stopped when it ends. */
export async function clusterRig(t: TestContext): Promise<{ cluster: RedisCluster; servers: BusServer[]; clients: BusClient[] }> {
  const rig = { cluster: await startCluster(), servers: [] as BusServer[], clients: [] as BusClient[] };
  t.after(async () => {
    for (const c of rig.clients) c.close();
    for (const s of rig.servers) await stopBusServer(s);
    await stopCluster(rig.cluster);
  });
  return rig;
}
