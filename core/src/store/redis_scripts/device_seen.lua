-- Records a device of a user, remembering the last few; 1 if it was seen before.
-- KEYS[1] devices; ARGV device remembered ttl_ms
for _, d in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  if d == ARGV[1] then
    return 1
  end
end
redis.call('RPUSH', KEYS[1], ARGV[1])
if redis.call('LLEN', KEYS[1]) > tonumber(ARGV[2]) then
  redis.call('LPOP', KEYS[1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 0
