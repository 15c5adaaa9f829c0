-- Stores a new session; at the user's limit, first removes the least recently used
-- (revoked ones first; the earliest inserted among equals), as MemoryStore does.
-- ARGV prefix id user max_per_user ttl_ms then the record's field/value pairs
local p, id, user = ARGV[1], ARGV[2], ARGV[3]
local max_per_user, ttl_ms = math.max(tonumber(ARGV[4]), 1), ARGV[5]
local ids = user_sessions(p, user)
if #ids >= max_per_user then
  local oldest, oldest_key = nil, nil
  for _, sid in ipairs(ids) do
    local r = redis.call('HMGET', p .. 's:' .. sid, 'r', 'lu')
    local key = {r[1] == '1' and 0 or 1, tonumber(r[2])}
    if not oldest or key[1] < oldest_key[1] or (key[1] == oldest_key[1] and key[2] < oldest_key[2]) then
      oldest, oldest_key = sid, key
    end
  end
  remove(p, oldest, user)
end
local fields = {}
for i = 6, #ARGV do
  table.insert(fields, ARGV[i])
end
redis.call('DEL', p .. 's:' .. id, p .. 'sp:' .. id)
redis.call('HSET', p .. 's:' .. id, unpack(fields))
local h = redis.call('HGET', p .. 's:' .. id, 'h')
redis.call('SET', p .. 'sh:' .. hex(h), '1 ' .. id)
redis.call('ZADD', p .. 'su:' .. user, redis.call('INCR', p .. 'sq'), id)
keep(p, id, ttl_ms)
if redis.call('PTTL', p .. 'su:' .. user) < tonumber(ttl_ms) then
  redis.call('PEXPIRE', p .. 'su:' .. user, ttl_ms)
end
return 1
