-- Stores a code challenge unless the live one is locked or cooling down; a replaced live
-- challenge passes its attempt count on.
-- KEYS[1] challenge; ARGV code_hash issued_at expires_at resend_after attempts max now ttl_ms
-- Answers {0, attempts} issued, {1, until} cooldown, {2, until} locked.
local now, max_attempts = tonumber(ARGV[7]), tonumber(ARGV[6])
local attempts = tonumber(ARGV[5])
local live = redis.call('HMGET', KEYS[1], 'e', 'r', 'a')
if live[1] and tonumber(live[1]) > now then
  local used = tonumber(live[3])
  if used >= max_attempts then
    return {2, tonumber(live[1])}
  end
  if tonumber(live[2]) > now then
    return {1, tonumber(live[2])}
  end
  attempts = math.max(attempts, used)
end
redis.call('DEL', KEYS[1])
if tonumber(ARGV[3]) > now then
  redis.call('HSET', KEYS[1], 'h', ARGV[1], 'i', ARGV[2], 'e', ARGV[3], 'r', ARGV[4], 'a', attempts)
  redis.call('PEXPIRE', KEYS[1], ARGV[8])
end
return {0, attempts}
