-- Presents a refresh-token hash: {0} unknown; {1, expired_at, record...} rotated;
-- {2, 0, record...} an earlier token reused, so the session is now revoked;
-- {3, 0, record...} the session was already revoked.
-- ARGV prefix presented replacement now idle_until remembered ttl_ms
local p, presented, replacement = ARGV[1], ARGV[2], ARGV[3]
local now, idle_until, remembered, ttl_ms = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local ref = redis.call('GET', p .. 'sh:' .. hex(presented))
if not ref then
  return {0}
end
local current, id = string.match(ref, '^(%d) (.+)$')
local key = p .. 's:' .. id
local s = redis.call('HMGET', key, 'r', 'e', 'ae', 'u')
if not s[1] then
  return {0}
end
if s[1] == '1' then
  return {3, 0, record(p, id)}
end
if current == '0' then
  redis.call('HSET', key, 'r', '1')
  return {2, 0, record(p, id)}
end
local expired_at = tonumber(s[2])
redis.call('RPUSH', p .. 'sp:' .. id, presented)
redis.call('SET', p .. 'sh:' .. hex(presented), '0 ' .. id)
if redis.call('LLEN', p .. 'sp:' .. id) > remembered then
  redis.call('DEL', p .. 'sh:' .. hex(redis.call('LPOP', p .. 'sp:' .. id)))
end
redis.call('HSET', key, 'h', replacement, 'lu', ARGV[4],
  'e', string.format('%d', math.min(idle_until, tonumber(s[3]))))
redis.call('SET', p .. 'sh:' .. hex(replacement), '1 ' .. id)
keep(p, id, ttl_ms)
if redis.call('PTTL', p .. 'su:' .. s[4]) < tonumber(ttl_ms) then
  redis.call('PEXPIRE', p .. 'su:' .. s[4], ttl_ms)
end
return {1, expired_at, record(p, id)}
