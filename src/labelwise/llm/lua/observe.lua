-- After a response: remember the limits the provider states, pause everyone until a stated
-- reset when nothing is left, and give back tokens charged beyond what the call used.
-- KEYS[1]: the state hash.
-- ARGV: now, stated requests/min (0: none), stated tokens/min (0: none), cooldown until
--       (0: none), tokens to give back, state TTL seconds.
local now, learned_rpm, learned_tpm = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local cooldown_until, refund = tonumber(ARGV[4]), tonumber(ARGV[5])
if learned_rpm > 0 then redis.call('HSET', KEYS[1], 'learned_rpm', learned_rpm) end
if learned_tpm > 0 then redis.call('HSET', KEYS[1], 'learned_tpm', learned_tpm) end
if cooldown_until > now then
  local cooldown = tonumber(redis.call('HGET', KEYS[1], 'cooldown')) or 0
  redis.call('HSET', KEYS[1], 'cooldown', math.max(cooldown, cooldown_until))
end
if refund ~= 0 then
  local tok = tonumber(redis.call('HGET', KEYS[1], 'tok'))
  if tok then redis.call('HSET', KEYS[1], 'tok', tok + refund) end
end
redis.call('EXPIRE', KEYS[1], ARGV[6])
return 'ok'
