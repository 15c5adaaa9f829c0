-- Presents a refresh-token hash: {0} unknown; {1, expired_at, record...} rotated;
-- {2, 0, record...} an earlier token reused, so the session is now revoked;
-- {3, 0, record...} the session was already revoked; {4, expired_at, record...} the token
-- rotated last, presented again within the retry grace: `replacement` is current too;
-- {5, 0, record...} such a retry past the allowed count (nothing changed).
-- ARGV prefix presented replacement now idle_until remembered ttl_ms grace max_retries
local p, presented, replacement = ARGV[1], ARGV[2], ARGV[3]
local now, idle_until, remembered, ttl_ms = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local grace, max_retries = tonumber(ARGV[8]), tonumber(ARGV[9])
local ref = redis.call('GET', p .. 'sh:' .. hex(presented))
if not ref then
  return {0}
end
local current, id = string.match(ref, '^(%d) (.+)$')
local key = p .. 's:' .. id
local s = redis.call('HMGET', key, 'r', 'e', 'ae', 'u', 'h', 'gp', 'gt')
if not s[1] then
  return {0}
end
if s[1] == '1' then
  return {3, 0, record(p, id)}
end
local expired_at = tonumber(s[2])
local new_expiry = string.format('%d', math.min(idle_until, tonumber(s[3])))
if current == '0' then
  local retry = s[6] == presented and s[7] and now < tonumber(s[7]) + grace
  if not retry then
    redis.call('HSET', key, 'r', '1')
    return {2, 0, record(p, id)}
  end
  if redis.call('LLEN', p .. 'sa:' .. id) >= max_retries then
    return {5, 0, record(p, id)}
  end
  redis.call('RPUSH', p .. 'sa:' .. id, replacement)
  redis.call('HSET', key, 'lu', ARGV[4], 'e', new_expiry)
  redis.call('SET', p .. 'sh:' .. hex(replacement), '1 ' .. id)
  keep(p, id, ttl_ms)
  return {4, expired_at, record(p, id)}
end
-- Every token that was current stops being so: the main one, the retries', the presented.
local stale = redis.call('LRANGE', p .. 'sa:' .. id, 0, -1)
table.insert(stale, s[5])
redis.call('DEL', p .. 'sa:' .. id)
for _, h in ipairs(stale) do
  if h ~= presented then
    redis.call('RPUSH', p .. 'sp:' .. id, h)
    redis.call('SET', p .. 'sh:' .. hex(h), '0 ' .. id)
  end
end
redis.call('RPUSH', p .. 'sp:' .. id, presented)
redis.call('SET', p .. 'sh:' .. hex(presented), '0 ' .. id)
while redis.call('LLEN', p .. 'sp:' .. id) > remembered do
  redis.call('DEL', p .. 'sh:' .. hex(redis.call('LPOP', p .. 'sp:' .. id)))
end
redis.call('HSET', key, 'h', replacement, 'lu', ARGV[4], 'e', new_expiry, 'gp', presented, 'gt', ARGV[4])
redis.call('SET', p .. 'sh:' .. hex(replacement), '1 ' .. id)
keep(p, id, ttl_ms)
if redis.call('PTTL', p .. 'su:' .. s[4]) < tonumber(ttl_ms) then
  redis.call('PEXPIRE', p .. 'su:' .. s[4], ttl_ms)
end
return {1, expired_at, record(p, id)}
