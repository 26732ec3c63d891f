/**
 * The test page in a real browser: headless Chromium (Debian's `chromium`,
 * driven by playwright-core) against `lws-test-server` run as a process.
 * Screenshots go to test-output/e2e/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { spawnBin, portOf, killChild, type Child } from './plugin-ws-client.js';
import { freePort } from './lws-c-apps.js';

const CHROMIUM = '/usr/bin/chromium';
const OUT = resolve(dirname(fileURLToPath(import.meta.url)), '../../test-output/e2e');

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

async function server(port: number): Promise<Child> {
  const c = spawnBin('lws-test-server', ['-p', String(port), '-i', '127.0.0.1']);
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
    await shot(a, 'offline');
    srv = await server(port);
    await a.waitForFunction("!document.body.classList.contains('offline')", null, { timeout: 15000 });
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
