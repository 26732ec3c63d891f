/**
 * The Lua scripts of a topic with history. Each runs atomically, so the
 * order of a topic's stream is the order its messages are published in,
 * and every process subscribed delivers them in that one order.
 */

/**
 * Publish with history. KEYS: stream, epoch. ARGV: a fresh epoch, MAXLEN,
 * node, origin, binary (0/1), payload, channel, PUBLISH or SPUBLISH.
 * The epoch is made with the stream and replaced when the stream is gone
 * (a restart without persistence): a position of the old one can then
 * never be taken for one of the new. Returns the message's offset.
 */
export const PUBLISH_SCRIPT = `
local e = redis.call('GET', KEYS[2])
if (not e) or redis.call('EXISTS', KEYS[1]) == 0 then
  e = ARGV[1]
  redis.call('SET', KEYS[2], e)
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'n', ARGV[3], 'o', ARGV[4], 'b', ARGV[5], 'd', ARGV[6])
redis.call(ARGV[8], ARGV[7], 'T1 ' .. ARGV[3] .. ' ' .. ARGV[4] .. ' ' .. ARGV[5] .. ' ' .. e .. ' ' .. id .. '\\n' .. ARGV[6])
return id
`;

/**
 * Read what came after a position. KEYS: stream, epoch. ARGV: the
 * position's epoch, its offset, the most entries to return.
 * Returns { current epoch or '', whether the epoch matched (1/0), the
 * first offset still held, entries }: after the offset when the epoch
 * matched, else from the new epoch's start. A position older than the
 * first offset held was trimmed away (MAXLEN), and what followed it may
 * have been too.
 */
export const REPLAY_SCRIPT = `
local e = redis.call('GET', KEYS[2])
if (not e) or redis.call('EXISTS', KEYS[1]) == 0 then
  return {'', 0, '0-0', {}}
end
local same = 0
local from = '-'
if e == ARGV[1] then
  same = 1
  from = '(' .. ARGV[2]
end
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
local firstId = '0-0'
if #first > 0 then firstId = first[1][1] end
return {e, same, firstId, redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', ARGV[3])}
`;

/** Where a topic's history stands now. KEYS: stream, epoch. Returns { epoch or '', last offset or '' }. */
export const TIP_SCRIPT = `
local e = redis.call('GET', KEYS[2])
if (not e) or redis.call('EXISTS', KEYS[1]) == 0 then return {'', ''} end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last == 0 then return {e, '0-0'} end
return {e, last[1][1]}
`;
