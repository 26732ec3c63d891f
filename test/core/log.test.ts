import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { log, setLogLevel, getLogLevel, LogLevel, timestampedLine } from '../../src/index.js';
import { distSrc } from '../helpers/paths.js';

test('notice and above are on by default; info and debug are not', () => {
  const index = distSrc('index.js');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e',
    `import { log, getLogLevel } from ${JSON.stringify(index)};
     console.log(getLogLevel());
     log.err('e %d', 1); log.warn('w'); log.notice('n'); log.info('i'); log.debug('d');`], { encoding: 'utf8', timeout: 10000 });
  assert.equal(r.stdout.trim(), '7');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0], /^\[\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}:\d{4}\] E: e 1$/);
  assert.match(lines[1], /\] W: w$/);
  assert.match(lines[2], /\] N: n$/);
});

test('setLogLevel picks levels and an emitter; a null emitter keeps the current one', () => {
  const got: Array<[number, string]> = [];
  const before = getLogLevel();
  try {
    setLogLevel(LogLevel.INFO | LogLevel.USER, (level, line) => got.push([level, line]));
    log.info('hello %s', 'world');
    log.notice('not shown');
    log.user('mine %j', { a: 1 });
    setLogLevel(LogLevel.ERR, null);
    log.err('still captured');
    log.info('filtered');
    assert.deepEqual(got, [
      [LogLevel.INFO, 'hello world'],
      [LogLevel.USER, 'mine {"a":1}'],
      [LogLevel.ERR, 'still captured'],
    ]);
    assert.throws(() => setLogLevel(-1), /non-negative integer/);
    assert.match(timestampedLine(LogLevel.WARN, 'x'), /\] W: x$/);
  } finally {
    setLogLevel(before, (l, line) => process.stderr.write(timestampedLine(l, line) + '\n'));
  }
});
