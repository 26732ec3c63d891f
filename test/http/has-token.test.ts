/**
 * Token lists in header values (Connection, Upgrade): elements split at
 * commas, optional whitespace (SP, HTAB) around them ignored, compared
 * without regard to ASCII case, as RFC 9110 5.6.1 and 7.6.1 read them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasToken } from '../../src/http/response.js';

test('a token is found in any element of the list, whatever its case and the whitespace around it', () => {
  for (const v of ['upgrade', 'Upgrade', 'UPGRADE', 'keep-alive, Upgrade', 'keep-alive,upgrade', ' upgrade ', '\tUpgrade\t, close',
    'close,\tupgrade', ',,upgrade,,', 'a, b, c, upgrade']) {
    assert.equal(hasToken(v, 'upgrade'), true, JSON.stringify(v));
  }
});

test('only a whole element matches: prefixes, suffixes, other whitespace and empty lists do not', () => {
  for (const v of [undefined, '', ',', 'upgrades', 'upgrad', 'x-upgrade', 'up grade', 'keep-alive', 'upgrade\u00a0', '\u00a0upgrade', 'upgrade;q=1']) {
    assert.equal(hasToken(v, 'upgrade'), false, JSON.stringify(v));
  }
  assert.equal(hasToken('websocket', 'websocket'), true);
  assert.equal(hasToken('WebSocket, h2c', 'websocket'), true);
  assert.equal(hasToken('h2c', 'websocket'), false);
});
