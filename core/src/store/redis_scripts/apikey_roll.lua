-- Rolls an API key in one step: {0} no such key; {1} stored; {2} revoked; {3} disabled;
-- {4} expired; {5} already rolled; {6} the new id exists. The replacement takes the old
-- key's balance (moved: the old key's becomes 0 and it draws from its replacement).
-- KEYS[1] old record KEYS[2] new record KEYS[3] index;
-- ARGV new id, grace_until, now, then the replacement's field/value pairs
local old = redis.call('HMGET', KEYS[1], 'st', 'rb', 'x', 'c')
if not old[1] then
  return 0
end
if old[1] == 'revoked' then
  return 2
end
if old[1] == 'disabled' then
  return 3
end
if old[2] then
  return 5
end
if old[3] and tonumber(ARGV[3]) >= tonumber(old[3]) then
  return 4
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 6
end
local fields = {}
for i = 4, #ARGV do
  table.insert(fields, ARGV[i])
end
redis.call('HSET', KEYS[2], unpack(fields))
redis.call('HDEL', KEYS[2], 'c')
if old[4] then
  redis.call('HSET', KEYS[2], 'c', old[4])
  redis.call('HSET', KEYS[1], 'c', '0')
end
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[1], 'rb', ARGV[1], 'g', ARGV[2])
return 1
