/**
 * Lua scripts of the Redis pair store. Each runs atomically inside Redis, so no two
 * processes can interleave between "find the lowest free pair" and "lease it".
 *
 * Data model (each key is P followed by its name, P = `<configured prefix>pairs:`, e.g. `tandem:pairs:free`):
 *
 *   P meta            HASH  { size, base }       written once by `init`; a process with a
 *                                                 different pool refuses to use the prefix
 *   P free            ZSET  member = score = index of a pair that is free AND enabled.
 *                                                 ZPOPMIN yields the lowest free pair in O(log N)
 *   P leases          ZSET  member = index, score = lease expiry (ms, Redis clock)
 *                                                 ZRANGEBYSCORE -inf now finds expired leases in O(log N + k)
 *   P lease:<index>   HASH  { token, state, assignedAt, node, callerId? } of a held pair
 *   P disabled        SET   indexes never to hand out (extension disabled/missing)
 *   P journal         LIST  only when journaling is on (tests): "A|i|token", "R|i|token",
 *                                                 "X|i|token" (expired) in the order Redis ran them
 *
 * Invariant, kept by every script: an index is in exactly one of `free`, `leases`, or
 * (free but disabled) neither. A lease expires by itself: there is no Redis key TTL to
 * race with; instead every script first reclaims leases whose expiry is past, so the
 * pairs of a crashed node come back on the next operation of any node, with no timer.
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

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function journal(kind, idx, token)
  if JOURNAL then redis.call('RPUSH', P .. 'journal', kind .. '|' .. idx .. '|' .. tostring(token)) end
end

-- Ends the lease at idx (if any) and returns the pair to the free set unless disabled.
local function free_index(idx, kind)
  local key = P .. 'lease:' .. idx
  if JOURNAL then journal(kind, idx, redis.call('HGET', key, 'token')) end
  redis.call('DEL', key)
  redis.call('ZREM', LEASES, idx)
  if redis.call('SISMEMBER', DISABLED, idx) == 0 then
    redis.call('ZADD', FREE, idx, idx)
  end
end

local NOW = now_ms()
local function ms(n) return string.format('%d', n) end
local expired = redis.call('ZRANGEBYSCORE', LEASES, '-inf', NOW)
for _, idx in ipairs(expired) do free_index(idx, 'X') end
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
 * ARGV: prefix, journal, token, ttlMs, node, callerId ('' with hasCaller '0' = none), hasCaller.
 * Returns {index, assignedAt, expiresAt} or false when the pool is exhausted.
 */
export const ALLOCATE_LUA = `${PRELUDE}
local popped = redis.call('ZPOPMIN', FREE)
if #popped == 0 then return false end
local idx = popped[1]
local expires = NOW + tonumber(ARGV[4])
local key = P .. 'lease:' .. idx
redis.call('HSET', key, 'token', ARGV[3], 'state', 'allocated', 'assignedAt', ms(NOW), 'node', ARGV[5])
if ARGV[7] == '1' then redis.call('HSET', key, 'callerId', ARGV[6]) end
redis.call('ZADD', LEASES, expires, idx)
journal('A', idx, ARGV[3])
return { idx, ms(NOW), ms(expires) }
`;

/** ARGV: prefix, journal, index, token. 1 = released or already free, 0 = held under another token. */
export const RELEASE_LUA = `${PRELUDE}
local current = redis.call('HGET', P .. 'lease:' .. ARGV[3], 'token')
if not current then return 1 end
if current ~= ARGV[4] then return 0 end
free_index(ARGV[3], 'R')
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

/** ARGV: prefix, journal, index, enabled ('1'/'0'). 1 = availability changed, 0 = it already was so. */
export const SET_ENABLED_LUA = `${PRELUDE}
local idx = ARGV[3]
local changed
if ARGV[4] == '1' then
  changed = redis.call('SREM', DISABLED, idx)
  if redis.call('EXISTS', P .. 'lease:' .. idx) == 0 then redis.call('ZADD', FREE, idx, idx) end
else
  changed = redis.call('SADD', DISABLED, idx)
  redis.call('ZREM', FREE, idx)
end
return changed
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
