-- Records a nonce until it expires, unless a live one is recorded (a replay).
-- Compared with the caller's clock, not Redis's, so both backends agree.
-- KEYS[1] nonce; ARGV now expires_at ttl_ms
local now, expires_at = tonumber(ARGV[1]), tonumber(ARGV[2])
local until_ = redis.call('GET', KEYS[1])
if until_ and tonumber(until_) > now then
  return 0
end
if expires_at > now then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
