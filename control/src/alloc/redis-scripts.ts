/**
 * Lua scripts of the Redis pair store. Each runs atomically inside Redis, so no two
 * processes can interleave between "find the lowest free pair" and "lease it".
 *
 * Data model (each key is P followed by its name, P = `<configured prefix>pairs:`, e.g. `tandem:pairs:free`):
 *
 *   P meta            HASH  { size, base }       written once by `init`; a process with a
 *                                                 different pool refuses to use the prefix
 *   P free            ZSET  member = score = index of a pair that can be handed out now:
 *                                                 free, enabled, leg B not marked unreachable, not suspect.
 *                                                 ZPOPMIN yields the lowest such pair in O(log N)
 *   P suspect         ZSET  member = index, score = end of its cool-down (ms): free, enabled, leg B
 *                                                 not marked unreachable, but its last originate found no
 *                                                 contact. Handed out only when `free` is empty (ZPOPMIN:
 *                                                 suspected longest ago first); back in `free` when the
 *                                                 cool-down ends or presence says leg B is reachable
 *   P parked          ZSET  member = score = index of a free, enabled pair whose leg B is marked
 *                                                 unreachable (ZCARD says why a pool is exhausted)
 *   P unreachable     ZSET  member = index, score = end of the mark (ms): leg B cannot be reached,
 *                                                 whatever the pair's state; written by every node that
 *                                                 follows presence, and fading unless written again
 *   P leases          ZSET  member = index, score = lease expiry (ms, Redis clock)
 *                                                 ZRANGEBYSCORE -inf now finds expired leases in O(log N + k)
 *   P lease:<index>   HASH  { token, state, assignedAt, node, owner, callerId? } of a held pair
 *   P disabled        SET   indexes never to hand out (extension disabled/missing)
 *   P journal         LIST  only when journaling is on (tests): "A|i|token", "R|i|token",
 *                                                 "X|i|token" (expired), "U|i|" (leg B marked unreachable),
 *                                                 "V|i|" (mark cleared or ended) in the order Redis ran them
 *
 * Invariant, kept by every script: an index is in exactly one of `leases`, `free`,
 * `suspect`, `parked`, or (free but disabled) none of them; `place` below is the one
 * place that decides. A lease expires by itself: there is no Redis key TTL to race with;
 * instead every script first reclaims leases, marks and cool-downs whose end is past, so
 * the pairs of a crashed node come back on the next operation of any node, with no timer.
 * Time is Redis's own clock (TIME), so node clocks may disagree without harm.
 *
 * Keys built inside the scripts (`lease:<index>`) are not declared, so the store
 * needs a single Redis (or every key in one cluster slot: put a {hash tag} in the prefix).
 */

const PRELUDE = `
if redis.replicate_commands then pcall(redis.replicate_commands) end
local P = ARGV[1]
local JOURNAL = ARGV[2] == '1'
local FREE, LEASES, DISABLED = P .. 'free', P .. 'leases', P .. 'disabled'
local SUSPECT, PARKED, UNREACHABLE = P .. 'suspect', P .. 'parked', P .. 'unreachable'

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local NOW = now_ms()
local function ms(n) return string.format('%d', n) end

local function journal(kind, idx, token)
  if JOURNAL then redis.call('RPUSH', P .. 'journal', kind .. '|' .. idx .. '|' .. tostring(token or '')) end
end

local function leased(idx)
  return redis.call('EXISTS', P .. 'lease:' .. idx) == 1
end

-- Puts an unleased pair where it belongs: nowhere (disabled), parked (leg B marked
-- unreachable), suspect (until suspect_until), or free.
local function place(idx, suspect_until)
  redis.call('ZREM', FREE, idx)
  redis.call('ZREM', SUSPECT, idx)
  redis.call('ZREM', PARKED, idx)
  if redis.call('SISMEMBER', DISABLED, idx) == 1 then return end
  local mark = redis.call('ZSCORE', UNREACHABLE, idx)
  if mark and tonumber(mark) > NOW then
    redis.call('ZADD', PARKED, idx, idx)
  elseif suspect_until then
    redis.call('ZADD', SUSPECT, suspect_until, idx)
  else
    redis.call('ZADD', FREE, idx, idx)
  end
end

-- Ends the lease at idx (if any) and puts the pair back in line.
local function free_index(idx, kind, suspect_until)
  local key = P .. 'lease:' .. idx
  if JOURNAL then journal(kind, idx, redis.call('HGET', key, 'token')) end
  redis.call('DEL', key)
  redis.call('ZREM', LEASES, idx)
  place(idx, suspect_until)
end

local expired = redis.call('ZRANGEBYSCORE', LEASES, '-inf', NOW)
for _, idx in ipairs(expired) do free_index(idx, 'X', nil) end
local faded = redis.call('ZRANGEBYSCORE', UNREACHABLE, '-inf', NOW)
for _, idx in ipairs(faded) do
  redis.call('ZREM', UNREACHABLE, idx)
  journal('V', idx, nil)
  if redis.call('ZSCORE', PARKED, idx) then place(idx, nil) end
end
local cooled = redis.call('ZRANGEBYSCORE', SUSPECT, '-inf', NOW)
for _, idx in ipairs(cooled) do
  redis.call('ZREM', SUSPECT, idx)
  redis.call('ZADD', FREE, idx, idx)
end
`;

/** ARGV: prefix, journal, size, base. Returns {size, base} as stored (first writer wins). */
export const INIT_LUA = `
local P = ARGV[1]
local meta = P .. 'meta'
if redis.call('EXISTS', meta) == 1 then
  return redis.call('HMGET', meta, 'size', 'base')
end
local size = tonumber(ARGV[3])
redis.call('HSET', meta, 'size', ARGV[3], 'base', ARGV[4])
local batch = {}
for i = 0, size - 1 do
  batch[#batch + 1] = i
  batch[#batch + 1] = i
  if #batch >= 2000 then
    redis.call('ZADD', P .. 'free', unpack(batch))
    batch = {}
  end
end
if #batch > 0 then redis.call('ZADD', P .. 'free', unpack(batch)) end
return { ARGV[3], ARGV[4] }
`;

/**
 * ARGV: prefix, journal, token, ttlMs, node, callerId ('' with hasCaller '0' = none), hasCaller, owner.
 * Returns {index, assignedAt, expiresAt}, or {-1, leased, parked} when no pair can be handed out.
 */
export const ALLOCATE_LUA = `${PRELUDE}
local popped = redis.call('ZPOPMIN', FREE)
if #popped == 0 then popped = redis.call('ZPOPMIN', SUSPECT) end
if #popped == 0 then return { -1, redis.call('ZCARD', LEASES), redis.call('ZCARD', PARKED) } end
local idx = popped[1]
local expires = NOW + tonumber(ARGV[4])
local key = P .. 'lease:' .. idx
redis.call('HSET', key, 'token', ARGV[3], 'state', 'allocated', 'assignedAt', ms(NOW), 'node', ARGV[5], 'owner', ARGV[8])
if ARGV[7] == '1' then redis.call('HSET', key, 'callerId', ARGV[6]) end
redis.call('ZADD', LEASES, expires, idx)
journal('A', idx, ARGV[3])
return { idx, ms(NOW), ms(expires) }
`;

/**
 * ARGV: prefix, journal, index, token, suspectMs ('0' = a plain release).
 * 1 = released or already free, 0 = held under another token.
 */
export const RELEASE_LUA = `${PRELUDE}
local current = redis.call('HGET', P .. 'lease:' .. ARGV[3], 'token')
if not current then return 1 end
if current ~= ARGV[4] then return 0 end
local suspect_ms = tonumber(ARGV[5])
free_index(ARGV[3], 'R', suspect_ms > 0 and NOW + suspect_ms or nil)
return 1
`;

/** ARGV: prefix, journal, index, token, ttlMs. New expiry (string) or false if the lease is not ours. */
export const RENEW_LUA = `${PRELUDE}
local current = redis.call('HGET', P .. 'lease:' .. ARGV[3], 'token')
if current ~= ARGV[4] then return false end
local expires = NOW + tonumber(ARGV[5])
redis.call('ZADD', LEASES, 'XX', expires, ARGV[3])
return ms(expires)
`;

/** ARGV: prefix, journal, index, token, state. 1 = changed, 0 = not our lease. */
export const SET_STATE_LUA = `${PRELUDE}
local key = P .. 'lease:' .. ARGV[3]
if redis.call('HGET', key, 'token') ~= ARGV[4] then return 0 end
redis.call('HSET', key, 'state', ARGV[5])
return 1
`;

/**
 * ARGV: prefix, journal, index, enabled ('1'/'0'). 1 = availability changed, 0 = it already was so.
 * Enabling a pair that is enabled already changes nothing (the periodic availability pass must
 * not end a suspect cool-down).
 */
export const SET_ENABLED_LUA = `${PRELUDE}
local idx = ARGV[3]
local changed
if ARGV[4] == '1' then
  changed = redis.call('SREM', DISABLED, idx)
  if changed == 1 and not leased(idx) then place(idx, nil) end
else
  changed = redis.call('SADD', DISABLED, idx)
  if not leased(idx) then place(idx, nil) end
end
return changed
`;

/**
 * ARGV: prefix, journal, markTtlMs, complete ('1'/'0'), n, then n indexes whose leg B is
 * unreachable, then the indexes whose leg B is reachable again.
 */
export const SET_REACHABILITY_LUA = `${PRELUDE}
local until_ms = NOW + tonumber(ARGV[3])
local n = tonumber(ARGV[5])
local listed = {}
for i = 6, 5 + n do
  local idx = ARGV[i]
  listed[idx] = true
  if not redis.call('ZSCORE', UNREACHABLE, idx) then journal('U', idx, nil) end
  redis.call('ZADD', UNREACHABLE, until_ms, idx)
  if not leased(idx) then place(idx, nil) end
end
local function clear(idx)
  if redis.call('ZREM', UNREACHABLE, idx) == 1 then journal('V', idx, nil) end
  if not leased(idx) then place(idx, nil) end
end
if ARGV[4] == '1' then
  for _, idx in ipairs(redis.call('ZRANGE', UNREACHABLE, 0, -1)) do
    if not listed[idx] then clear(idx) end
  end
end
for i = 6 + n, #ARGV do clear(ARGV[i]) end
return 1
`;

/**
 * ARGV: prefix, journal, index ('' = every lease). Returns a list of
 * {index, expiresAt, field, value, field, value, …} for live leases, in index order.
 */
export const READ_LUA = `${PRELUDE}
local out = {}
local function read(idx, score)
  local row = { idx, score }
  local fields = redis.call('HGETALL', P .. 'lease:' .. idx)
  for _, v in ipairs(fields) do row[#row + 1] = v end
  out[#out + 1] = row
end
if ARGV[3] ~= '' then
  local score = redis.call('ZSCORE', LEASES, ARGV[3])
  if score then read(ARGV[3], score) end
else
  local all = redis.call('ZRANGE', LEASES, 0, -1, 'WITHSCORES')
  for i = 1, #all, 2 do read(all[i], all[i + 1]) end
end
return out
`;
