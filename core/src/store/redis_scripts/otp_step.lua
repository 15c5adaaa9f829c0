-- Records the last accepted one-time-code step if it is after the recorded one.
-- KEYS[1] steps; ARGV step expires_at now ttl_ms
local step, expires_at, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local stored = redis.call('GET', KEYS[1])
if stored then
  local last, until_ = string.match(stored, '^(%d+) (%d+)$')
  if last and tonumber(until_) > now and step <= tonumber(last) then
    return 0
  end
end
if expires_at > now then
  redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'PX', ARGV[4])
else
  redis.call('DEL', KEYS[1])
end
return 1
