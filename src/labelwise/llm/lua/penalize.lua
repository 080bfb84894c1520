-- A 429: everyone waits out the cooldown; when a rate limit ran out, the rate is also halved
-- (once per wave of 429s) and the buckets emptied.
-- KEYS[1]: the state hash.
-- ARGV: now, retry-after seconds, recovery seconds, lowest rate factor, state TTL seconds,
--       '1' when a rate limit ran out.
-- Returns the new rate factor, or 'cooldown' when only a cooldown was set.
local now, retry_after, recovery = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local s = redis.call('HMGET', KEYS[1], 'cooldown', 'factor', 'factor_at', 'penalized_at')
local cooldown = math.max(tonumber(s[1]) or 0, now + retry_after)
redis.call('EXPIRE', KEYS[1], ARGV[5])
if ARGV[6] ~= '1' then
  -- The provider says its limits are not what ran out: wait, but keep the rate.
  redis.call('HSET', KEYS[1], 'cooldown', cooldown)
  return 'cooldown'
end
local factor_at = tonumber(s[3]) or now
local factor = math.min(1, (tonumber(s[2]) or 1) + math.max(0, now - factor_at) / recovery)
local penalized_at = tonumber(s[4]) or 0
-- One wave of 429s (everything in flight when the limit struck) halves the rate once.
if now - penalized_at >= math.max(retry_after, 1) then
  factor = math.max(tonumber(ARGV[4]), factor / 2)
  penalized_at = now
end
-- The provider's buckets are empty: so are ours, refilling (and the rate climbing back) from
-- the end of the cooldown.
redis.call('HSET', KEYS[1], 'cooldown', cooldown, 'factor', factor, 'factor_at', cooldown,
           'penalized_at', penalized_at, 'req', 0, 'req_at', cooldown, 'tok', 0, 'tok_at', cooldown)
return tostring(factor)
