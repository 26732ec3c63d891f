/**
 * The test page in a real browser: headless Chromium (Debian's `chromium`,
 * driven by playwright-core) against `lws-test-server` run as a process.
 * Screenshots go to test-output/e2e/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { spawnBin, spawnExe, portOf, killChild, openWs, type Child, type Client } from '../helpers/plugin-ws-client.js';
import { freePort } from '../helpers/lws-c-apps.js';
import { pkgPath, distSrc } from '../helpers/paths.js';
import { startRedis, stopRedis } from '../helpers/redis.js';

const CHROMIUM = '/usr/bin/chromium';
const OUT = pkgPath('test-output', 'e2e');

function browserPath(): string {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return CHROMIUM;
  } catch {
    throw new Error(`${CHROMIUM} not found: install the Debian package chromium (apt-get install -y chromium); the browser tests need it and do not skip`);
  }
}

async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: browserPath(),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    timeout: 30000,
  });
}

async function server(port: number, extra: string[] = []): Promise<Child> {
  const c = spawnBin('lws-test-server', ['-p', String(port), '-i', '127.0.0.1', ...extra]);
  await portOf(c, 10000);
  return c;
}

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
}

const number = async (page: Page) => Number(await page.textContent('#dumb-number'));

// Code run in the page is given as source text: the tests compile without DOM types.
const TEXT = (id: string) => `(document.getElementById(${JSON.stringify(id)})?.textContent ?? '')`;

/** Wait until the element's text passes `test` (a JS expression over `t`). */
function waitText(page: Page, id: string, test: string, timeout = 5000): Promise<unknown> {
  return page.waitForFunction(`((t) => ${test})(${TEXT(id)})`, null, { timeout });
}

const PIXELS = `(() => { const c = document.getElementById('mirror-canvas'); return c.getContext('2d').getImageData(0, 0, c.width, c.height).data; })()`;

/** Pixels drawn on the mirror canvas (alpha > 0). */
const inked = (page: Page): Promise<number> =>
  page.evaluate(`(() => { const d = ${PIXELS}; let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; })()`);

test('the test page in Chromium: counter and reset, shared mirror drawing, close tests, greyed while the server is away', async () => {
  const port = await freePort();
  let srv = await server(port);
  const browser = await launch();
  try {
    const ctx = await browser.newContext({ viewport: { width: 1000, height: 900 } });
    const a = await ctx.newPage();
    const b = await ctx.newPage();
    const url = `http://127.0.0.1:${port}/`;
    await a.goto(url);
    await b.goto(url);
    for (const p of [a, b]) {
      await waitText(p, 'dumb-state', "t.startsWith('connected')", 10000);
      await waitText(p, 'mirror-state', "t.startsWith('connected')", 10000);
    }
    assert.equal(await a.evaluate("document.body.classList.contains('offline')"), false, 'not greyed once connected');

    // The counter counts, and reset brings it back down.
    await waitText(a, 'dumb-number', 'Number(t) > 20', 10000);
    const before = await number(a);
    await a.click('#dumb-reset');
    await waitText(a, 'dumb-number', `Number(t) < ${before}`);
    await shot(a, 'counter');

    // What one page draws shows on the other.
    assert.equal(await inked(b), 0, 'the other canvas starts blank');
    await a.selectOption('#mirror-color', '#0000ff');
    const box = (await a.locator('#mirror-canvas').boundingBox())!;
    await a.mouse.move(box.x + 40, box.y + 40);
    await a.mouse.down();
    for (let i = 1; i <= 20; i++) await a.mouse.move(box.x + 40 + i * 10, box.y + 40 + i * 5);
    await a.mouse.up();
    await b.waitForFunction(`(() => { const d = ${PIXELS}; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) return true; return false; })()`, null, { timeout: 5000 });
    assert.ok((await inked(b)) > 100, 'the drawing arrived');
    const blue = await b.evaluate(`(() => { const d = ${PIXELS}; for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 200) return [d[i], d[i + 1], d[i + 2]]; return null; })()`);
    assert.deepEqual(blue, [0, 0, 255], 'in the colour picked');
    await shot(b, 'mirror');

    // Close tests: the browser's close and the server's.
    await a.click('#close-open');
    await waitText(a, 'close-state', "t === 'open'");
    await a.click('#close-server');
    await waitText(a, 'close-state', "t.startsWith('closed')");
    assert.equal(await a.textContent('#close-state'), 'closed: 1001 seeya');
    await a.click('#close-open');
    await waitText(a, 'close-state', "t === 'open'");
    await a.click('#close-client');
    await waitText(a, 'close-state', "t.startsWith('closed')");
    assert.equal(await a.textContent('#close-state'), 'closed: 3000 Bye!');

    // The server goes away: the page greys out; it comes back: the page recovers.
    killChild(srv);
    await srv.exited;
    await a.waitForFunction("document.body.classList.contains('offline')", null, { timeout: 10000 });
    // lws_gray_out (from /lws-common.js) dims the whole page.
    assert.equal(await a.evaluate("(() => { const d = document.getElementById('darkenScreenObject'); return !!d && d.style.display !== 'none' && d.offsetHeight >= document.body.scrollHeight - 1; })()"), true);
    await shot(a, 'offline');
    srv = await server(port);
    await a.waitForFunction("!document.body.classList.contains('offline')", null, { timeout: 15000 });
    assert.equal(await a.evaluate("document.getElementById('darkenScreenObject').style.display"), 'none', 'undimmed');
    await waitText(a, 'dumb-state', "t.startsWith('connected')");
    await shot(a, 'recovered');
    await ctx.close();

    // At phone width nothing overflows sideways and the canvas still fits.
    const phone = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
    const m = await phone.newPage();
    await m.goto(url);
    await waitText(m, 'dumb-state', "t.startsWith('connected')", 10000);
    assert.equal(await m.evaluate('document.documentElement.scrollWidth'), 375, 'no horizontal scrolling at 375 px');
    const cw = await m.evaluate("document.getElementById('mirror-canvas').getBoundingClientRect().width");
    assert.ok(Number(cw) <= 375 && Number(cw) > 200, `canvas fits the phone: ${cw}`);
    await shot(m, 'phone');
    await phone.close();
  } finally {
    await browser.close();
    killChild(srv);
  }
});

test('the mirror across two test servers on Redis in Chromium: a drawing on one shows on the other, with the node it came from', async () => {
  const redis = await startRedis();
  const [p1, p2] = [await freePort(), await freePort()];
  const s1 = await server(p1, ['--redis', redis.url, '--redis-node', 'left']);
  const s2 = await server(p2, ['--redis', redis.url, '--redis-node', 'right']);
  const browser = await launch();
  try {
    const ctx = await browser.newContext({ viewport: { width: 1000, height: 900 } });
    const a = await ctx.newPage();
    const b = await ctx.newPage();
    await a.goto(`http://127.0.0.1:${p1}/`);
    await b.goto(`http://127.0.0.1:${p2}/`);
    for (const p of [a, b]) await waitText(p, 'mirror-state', "t.startsWith('connected')", 10000);
    const box = (await a.locator('#mirror-canvas').boundingBox())!;
    // Stroke until the other server's page has ink: its subscription is made when its instance is.
    for (let round = 0; round < 20 && (await inked(b)) === 0; round++) {
      await a.mouse.move(box.x + 40, box.y + 40 + round * 10);
      await a.mouse.down();
      for (let i = 1; i <= 10; i++) await a.mouse.move(box.x + 40 + i * 10, box.y + 40 + round * 10);
      await a.mouse.up();
      await b.waitForTimeout(200);
    }
    assert.ok((await inked(b)) > 20, 'the drawing crossed Redis');
    await waitText(b, 'mirror-from', "t === 'last stroke from left'");
    await waitText(a, 'mirror-from', "t === 'last stroke from left'");
    assert.equal(await b.textContent('#mirror-nodes'), 'nodes: left');
    await shot(b, 'mirror-redis');
    await ctx.close();
  } finally {
    await browser.close();
    killChild(s1);
    killChild(s2);
    await stopRedis(redis);
  }
});

test('the page in Chromium: the form posts and its answer shows the fields; the zip book renders with its pictures; live status', async () => {
  const port = await freePort();
  const srv = await server(port);
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    await waitText(page, 'status-state', "t.startsWith('connected')", 10000);
    // Three sockets of this page at least (dumb, mirror, status) are live.
    await waitText(page, 'status-conns', 'Number(t) >= 3', 5000);
    // Chromium offers permessage-deflate; lws-server-status takes it. "Test pmd"
    // sends two large compressed messages, which the server must inflate
    // without closing (a close would count in data-closes).
    assert.match((await page.textContent('#status-state')) ?? '', /^connected \(permessage-deflate/);
    await page.click('#status-pmd');
    await waitText(page, 'status-pmd-result', "t.startsWith('sent 2 messages') && t.includes('permessage-deflate')", 3000);
    const up0 = Number(await page.textContent('#status-uptime'));
    await waitText(page, 'status-uptime', `Number(t) > ${up0}`, 5000);
    assert.equal(await page.getAttribute('#status-state', 'data-closes'), null, 'the status socket never closed');
    await shot(page, 'status');

    // The urlencoded form: post-demo answers with a table of the fields.
    await page.fill('#post form:not([enctype]) input[name=text]', 'hello from chromium');
    await Promise.all([page.waitForNavigation(), page.click('#post form:not([enctype]) input[type=submit]')]);
    const answer = await page.content();
    assert.match(answer, /<b>text<\/b><\/td><td>19<\/td><td>hello from chromium<\/td>/);
    await shot(page, 'form-answer');

    // The multipart form with a file.
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.fill('#post form[enctype] input[name=text]', 'with a file');
    await page.setInputFiles('#post form[enctype] input[type=file]', { name: 'note.txt', mimeType: 'text/plain', buffer: Buffer.from('x'.repeat(1234)) });
    await Promise.all([page.waitForNavigation(), page.click('#post form[enctype] input[type=submit]')]);
    const up = await page.content();
    assert.match(up, /<b>filename:<\/b> note\.txt, <b>length<\/b> 1234/);

    // The book inside the zip, pictures included.
    await page.goto(`http://127.0.0.1:${port}/`);
    await Promise.all([page.waitForNavigation(), page.click('#zip-link')]);
    await page.waitForLoadState('load');
    const imgs = await page.evaluate("Array.from(document.images).map((i) => i.complete && i.naturalWidth > 0)");
    assert.ok(Array.isArray(imgs) && imgs.length >= 2, `the book has pictures: ${JSON.stringify(imgs)}`);
    assert.ok((imgs as boolean[]).every(Boolean), `every picture loaded: ${JSON.stringify(imgs)}`);
    assert.ok(((await page.textContent('body')) ?? '').length > 200, 'the book has text');
    await shot(page, 'zip-book');
  } finally {
    await browser.close();
    killChild(srv);
  }
});

interface ChartSample { t: number; conns: number; ws: number; rx: number; tx: number; mps: number }

/** The samples of one chart series of the status page (oldest first). */
const chartSamples = (page: Page, key: string): Promise<ChartSample[]> =>
  page.evaluate(`(() => { const s = window.statusCharts.series[${JSON.stringify(key)}]; return s ? s.samples() : []; })()`);

/** Pixels drawn on a canvas: [inked (alpha > 0), in the colour rgb]. */
const canvasInk = (page: Page, id: string, rgb: [number, number, number]): Promise<[number, number]> =>
  page.evaluate(`(() => { const c = document.getElementById(${JSON.stringify(id)}); if (!c) return [0, 0];
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0, k = 0;
    for (let i = 0; i < d.length; i += 4) { if (d[i + 3] > 0) n++;
      if (d[i + 3] > 200 && d[i] === ${rgb[0]} && d[i + 1] === ${rgb[1]} && d[i + 2] === ${rgb[2]}) k++; }
    return [n, k]; })()`);

test('the status page in Chromium: live charts of connections and messages per second, per vhost and for all', async () => {
  const port = await freePort();
  const srv = await server(port);
  const browser = await launch();
  const clients: Client[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    await page.goto(`http://127.0.0.1:${port}/server-status.html`);
    const last = (key: string, f: keyof ChartSample): string =>
      `(() => { const s = window.statusCharts.series[${JSON.stringify(key)}]; const a = s ? s.samples() : []; return a.length ? a[a.length - 1].${f} : -1; })()`;
    // The page's own socket is a WebSocket open on the vhost.
    await page.waitForFunction(`${last('vhost-0', 'ws')} === 1`, null, { timeout: 10000 });
    assert.equal(await page.evaluate('window.statusCharts.size'), 300, 'the ring holds 300 samples');
    // The ring drops the oldest once full.
    assert.deepEqual(await page.evaluate(`(() => { const r = new window.statusCharts.Ring(300);
      for (let i = 0; i < 305; i++) r.push(i); const a = r.toArray(); return [a.length, a[0], a[299]]; })()`), [300, 5, 304]);

    // Three clients on dumb-increment: three more connections, and a number every 50 ms on each.
    for (let i = 0; i < 3; i++) clients.push(await openWs(`ws://127.0.0.1:${port}/`, 'dumb-increment-protocol'));
    for (const key of ['all', 'vhost-0']) {
      await page.waitForFunction(`${last(key, 'ws')} === 4 && ${last(key, 'mps')} > 20`, null, { timeout: 10000 });
      const s = await chartSamples(page, key);
      const now = s[s.length - 1];
      assert.ok(now.conns >= 4, `${key}: the four WebSockets are open connections: ${JSON.stringify(now)}`);
      assert.ok(now.tx > 0 && now.mps > 0, `${key}: messages went out: ${JSON.stringify(now)}`);
      assert.ok(s.length >= 2 && s.length <= 300, `${key}: ${s.length} samples`);
    }
    // Both charts drew: axes and labels, and the line in its colour.
    for (const [id, rgb] of [['vhost-0-conns', [0x1f, 0x6f, 0xd0]], ['vhost-0-mps', [0xc0, 0x39, 0x2b]],
      ['all-conns', [0x1f, 0x6f, 0xd0]], ['all-mps', [0xc0, 0x39, 0x2b]]] as Array<[string, [number, number, number]]>) {
      const [inked, line] = await canvasInk(page, id, rgb);
      assert.ok(inked > 500, `${id} is drawn: ${inked} pixels`);
      assert.ok(line > 20, `${id} has its line: ${line} pixels`);
    }
    assert.match((await page.getAttribute('#vhost-0-mps', 'aria-label')) ?? '', /^WebSocket messages per second: [1-9]/);
    assert.equal(await page.getAttribute('#vhost-0-conns', 'aria-label'),
      `connections open: ${(await chartSamples(page, 'vhost-0')).at(-1)!.conns}`);
    await shot(page, 'status-charts');

    // The clients leave: the connection count follows and the rate falls back.
    const peak = (await chartSamples(page, 'vhost-0')).at(-1)!.conns;
    for (const c of clients) c.ws.close();
    await Promise.all(clients.map((c) => c.closed));
    await page.waitForFunction(`${last('vhost-0', 'ws')} === 1 && ${last('vhost-0', 'conns')} <= ${peak - 3}`, null, { timeout: 10000 });
    await page.waitForFunction(`${last('vhost-0', 'mps')} < 5`, null, { timeout: 10000 });
    const s = await chartSamples(page, 'vhost-0');
    assert.ok(s.some((x) => x.mps > 20), 'the busy samples stay in the ring');
    await shot(page, 'status-charts-after');
  } finally {
    for (const c of clients) c.ws.terminate();
    await browser.close();
    killChild(srv);
  }
});

test('the page over TLS (lws-test-server -s): HTTP/2 by ALPN, its WebSockets on HTTP/2 streams (RFC 8441), the facts and the status page say so, clear text is sent to https', async () => {
  const port = await freePort();
  const cache = mkdtempSync(join(tmpdir(), 'tslws-e2e-cache-'));
  const c = spawnExe(process.execPath, [distSrc('bin', 'lws-test-server.js'),
    '-p', String(port), '-i', '127.0.0.1', '-s'], { env: { ...process.env, XDG_CACHE_HOME: cache } });
  const browser = await launch();
  try {
    await portOf(c, 10000);
    assert.match(c.stdout(), /made a self-signed certificate .*tslws\/test-server\/localhost\.pem/);
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await ctx.newPage();
    await page.goto(`https://127.0.0.1:${port}/`);
    // The page and what it loads came over HTTP/2.
    assert.equal(await page.evaluate("performance.getEntriesByType('navigation')[0].nextHopProtocol"), 'h2');
    await page.waitForLoadState('load');
    const resources = await page.evaluate("performance.getEntriesByType('resource').map((e) => [e.name.replace(/^.*\\//, ''), e.nextHopProtocol])") as string[][];
    for (const f of ['test.js', 'test.css', 'lws-common.js'])
      assert.deepEqual(resources.find(([n]) => n === f), [f, 'h2'], `${f} over h2: ${JSON.stringify(resources)}`);
    await waitText(page, 'fact-http', "t === 'h2'");
    // Its WebSockets connect and work; Chromium carries them on streams of
    // the page's HTTP/2 connection, as the server advertises extended CONNECT.
    await waitText(page, 'dumb-state', "t.startsWith('connected')", 10000);
    await waitText(page, 'mirror-state', "t.startsWith('connected')", 10000);
    await waitText(page, 'status-state', "t.startsWith('connected')", 10000);
    await waitText(page, 'status-ws-h2', 'Number(t) >= 3', 10000);
    assert.ok(Number(await page.textContent('#status-ws-h2')) >= 3, 'lws-server-status counts the page\'s three WebSockets on HTTP/2 streams (ws_h2)');
    await waitText(page, 'dumb-number', 'Number(t) > 20', 10000);
    const before = await number(page);
    await page.click('#dumb-reset');
    await waitText(page, 'dumb-number', `Number(t) < ${before}`);
    // The mirror over HTTP/2: what this page draws shows on a second one.
    const other = await ctx.newPage();
    await other.goto(`https://127.0.0.1:${port}/`);
    await waitText(other, 'mirror-state', "t.startsWith('connected')", 10000);
    assert.equal(await inked(other), 0, 'the other canvas starts blank');
    const box = (await page.locator('#mirror-canvas').boundingBox())!;
    await page.mouse.move(box.x + 40, box.y + 40);
    await page.mouse.down();
    for (let i = 1; i <= 20; i++) await page.mouse.move(box.x + 40 + i * 10, box.y + 40 + i * 5);
    await page.mouse.up();
    await other.waitForFunction(`(() => { const d = ${PIXELS}; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) return true; return false; })()`, null, { timeout: 5000 });
    assert.ok((await inked(other)) > 100, 'the drawing arrived over HTTP/2');
    await other.close();
    await page.click('#close-open');
    await waitText(page, 'close-state', "t === 'open'");
    await page.click('#close-server');
    await waitText(page, 'close-state', "t.startsWith('closed')");
    assert.equal(await page.textContent('#close-state'), 'closed: 1001 seeya');
    assert.match((await page.textContent('#fact-tls')) ?? '', /^yes/);
    await shot(page, 'tls');

    // The status page, also over HTTP/2, shows the HTTP/2 connection with its requests and the WebSockets on its streams.
    const st = await ctx.newPage();
    await st.goto(`https://127.0.0.1:${port}/server-status.html`);
    assert.equal(await st.evaluate("performance.getEntriesByType('navigation')[0].nextHopProtocol"), 'h2');
    const FIG = /^HTTP\/1: (\d+) open \((\d+) WebSocket\) · HTTP\/2: (\d+) open with (\d+) streams \((\d+) WebSocket\); (\d+) requests, (\d+) by ALPN since the start$/;
    await waitText(st, 'totals', `/HTTP\\/2: [1-9]/.test(t)`, 10000);
    const figs = FIG.exec((await st.textContent('#vhost-0-figures')) ?? '');
    assert.ok(figs, `the vhost's figures: ${await st.textContent('#vhost-0-figures')}`);
    const [h2conns, h2streams, wsH2, h2reqs, alpn] = [figs[3], figs[4], figs[5], figs[6], figs[7]].map(Number);
    assert.ok(wsH2 >= 4, `the first page's three sockets and this page's one are WebSockets on HTTP/2 streams: ${figs[0]}`);
    assert.ok(h2streams >= wsH2, `they are streams: ${figs[0]}`);
    assert.ok(h2conns >= 1 && alpn >= 1, `HTTP/2 by ALPN: ${figs[0]}`);
    assert.ok(h2reqs >= 5, `both pages and the first one's scripts and style over HTTP/2: ${figs[0]}`);
    await shot(st, 'status-h2');
    const plain = await ctx.newPage();
    const r = await plain.goto(`http://127.0.0.1:${port}/`);
    assert.ok(r && plain.url().startsWith('https://'), `redirected to https: ${plain.url()}`);
    await ctx.close();
  } finally {
    await browser.close();
    killChild(c);
    rmSync(cache, { recursive: true, force: true });
  }
});
