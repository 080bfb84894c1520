-- Take one request of `cost` tokens from the (endpoint, model) buckets, or say how long to wait.
-- KEYS[1]: the state hash.
-- ARGV: now, requests/min, tokens/min (0: the learned limit, if any), cost, burst seconds,
--       recovery seconds, state TTL seconds.
-- Returns the seconds to wait as a string; '0' when the request was taken.
local now, rpm, tpm = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local cost, burst, recovery = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local s = redis.call('HMGET', KEYS[1], 'cooldown', 'factor', 'factor_at', 'req', 'req_at',
                     'tok', 'tok_at', 'learned_rpm', 'learned_tpm')
local cooldown = tonumber(s[1]) or 0
if cooldown > now then return tostring(cooldown - now) end
if rpm <= 0 then rpm = tonumber(s[8]) or 0 end
if tpm <= 0 then tpm = tonumber(s[9]) or 0 end
if rpm <= 0 and tpm <= 0 then return '0' end
local factor_at = tonumber(s[3]) or now
local factor = math.min(1, (tonumber(s[2]) or 1) + math.max(0, now - factor_at) / recovery)
local function level(per_minute, value, at)
  local rate = per_minute * factor / 60
  local cap = math.max(1, rate * burst)
  local v = tonumber(value) or cap
  return math.min(cap, v + (now - (tonumber(at) or now)) * rate), rate, cap
end
local wait, req, tok = 0, 0, 0
if rpm > 0 then
  local rate
  req, rate = level(rpm, s[4], s[5])
  if req < 1 then wait = math.max(wait, (1 - req) / rate) end
end
if tpm > 0 then
  local rate, cap
  tok, rate, cap = level(tpm, s[6], s[7])
  local need = math.min(cost, cap)
  if tok < need then wait = math.max(wait, (need - tok) / rate) end
end
if wait > 0 then return tostring(wait) end
redis.call('HSET', KEYS[1], 'factor', factor, 'factor_at', math.max(now, factor_at))
if rpm > 0 then redis.call('HSET', KEYS[1], 'req', req - 1, 'req_at', now) end
if tpm > 0 then redis.call('HSET', KEYS[1], 'tok', tok - cost, 'tok_at', now) end
redis.call('EXPIRE', KEYS[1], ARGV[7])
return '0'
