-- Keeps a pending secret until it expires, replacing any earlier one.
-- KEYS[1] pending; ARGV secret expires_at now ttl_ms
redis.call('DEL', KEYS[1])
if tonumber(ARGV[2]) > tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 's', ARGV[1], 'e', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return 1
