/**
 * A real Express app and a real fastify app sharing their port with tslws
 * WebSockets (attachToServer and the `server` creation option): echo with
 * permessage-deflate, a subprotocol, the message limit, the app's routes
 * answered while WebSockets are open, and upgrades on other paths left to
 * the app's own routing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import express from 'express';
import Fastify from 'fastify';
import { attachToServer } from '../../src/index.js';
import { wsContext, exerciseSharedPort, get, refusedUpgrade } from '../helpers/shared-port.js';

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((res) => server.close(() => res()));
}

test('Express: attachToServer on app.listen()\'s server', async (t) => {
  const ctx = wsContext();
  t.after(() => ctx.destroy());
  const app = express();
  app.get('/api/hello', (_req, res) => {
    res.type('text/plain').send('express says hello');
  });
  app.get('/plain', (_req, res) => {
    res.type('text/plain').send('an express route, reached by an upgrade request');
  });
  const server = await new Promise<Server>((res) => {
    const s = app.listen(0, '127.0.0.1', () => res(s));
  });
  t.after(() => closeServer(server));
  attachToServer(server, { vhost: ctx.vhosts[0], path: '/ws' });
  const port = (server.address() as { port: number }).port;
  await exerciseSharedPort(`ws://127.0.0.1:${port}/ws`, { url: `http://127.0.0.1:${port}/api/hello`, body: 'express says hello' });

  // Not tslws's path: Express routes it as it did before tslws was attached.
  const routed = await refusedUpgrade(`ws://127.0.0.1:${port}/plain`);
  assert.equal(routed.status, 200);
  assert.equal(routed.body, 'an express route, reached by an upgrade request');
  const missing = await refusedUpgrade(`ws://127.0.0.1:${port}/nowhere`);
  assert.equal(missing.status, 404);
  assert.match(missing.body, /Cannot GET \/nowhere/);
  // And the app still serves ordinary requests after all that.
  assert.equal((await get(`http://127.0.0.1:${port}/api/hello`)).body, 'express says hello');
});

test('fastify: createContext({ server: fastify.server, serverPath })', async (t) => {
  const fastify = Fastify();
  fastify.get('/api/hello', async () => ({ from: 'fastify' }));
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  const ctx = wsContext({ server: fastify.server, serverPath: '/ws' });
  t.after(async () => {
    await ctx.destroy();
    await fastify.close();
  });
  const port = (fastify.server.address() as { port: number }).port;
  await exerciseSharedPort(`ws://127.0.0.1:${port}/ws`, { url: `http://127.0.0.1:${port}/api/hello`, body: '{"from":"fastify"}' });

  const routed = await refusedUpgrade(`ws://127.0.0.1:${port}/api/hello`);
  assert.equal(routed.status, 200);
  assert.equal(routed.body, '{"from":"fastify"}');
  const missing = await refusedUpgrade(`ws://127.0.0.1:${port}/nowhere`);
  assert.equal(missing.status, 404);
  assert.match(missing.body, /Route GET:\/nowhere not found/);
});
