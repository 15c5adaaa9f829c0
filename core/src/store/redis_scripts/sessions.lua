-- Helpers shared by the session scripts, prepended to each. Keys are built here from the
-- prefix, so these scripts need a standalone Redis (or one primary), not Redis Cluster.
--   <p>s:<id>        hash: the record (u d dn sc ca lu e ae h r)
--   <p>sh:<hex hash> "<1|0> <id>": a refresh-token hash, current (1) or rotated (0)
--   <p>sp:<id>       list: the session's rotated hashes, oldest first
--   <p>sa:<id>       list: hashes minted by retries of the last rotation (current too)
--   <p>su:<user>     sorted set: the user's session ids in insertion order
--   <p>sq            the insertion counter behind those scores
local function hex(s)
  return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end))
end

local function record(p, id)
  local fields = redis.call('HGETALL', p .. 's:' .. id)
  if #fields == 0 then
    return nil
  end
  table.insert(fields, 'id')
  table.insert(fields, id)
  return fields
end

-- Keeps every key of a session until `ttl_ms` from now.
local function keep(p, id, ttl_ms)
  redis.call('PEXPIRE', p .. 's:' .. id, ttl_ms)
  local h = redis.call('HGET', p .. 's:' .. id, 'h')
  if h then
    redis.call('PEXPIRE', p .. 'sh:' .. hex(h), ttl_ms)
  end
  for _, list in ipairs({'sp:', 'sa:'}) do
    for _, old in ipairs(redis.call('LRANGE', p .. list .. id, 0, -1)) do
      redis.call('PEXPIRE', p .. 'sh:' .. hex(old), ttl_ms)
    end
    redis.call('PEXPIRE', p .. list .. id, ttl_ms)
  end
end

local function remove(p, id, user)
  local h = redis.call('HGET', p .. 's:' .. id, 'h')
  if h then
    redis.call('DEL', p .. 'sh:' .. hex(h))
  end
  for _, list in ipairs({'sp:', 'sa:'}) do
    for _, old in ipairs(redis.call('LRANGE', p .. list .. id, 0, -1)) do
      redis.call('DEL', p .. 'sh:' .. hex(old))
    end
  end
  redis.call('DEL', p .. 's:' .. id, p .. 'sp:' .. id, p .. 'sa:' .. id)
  redis.call('ZREM', p .. 'su:' .. user, id)
end

-- The user's session ids in insertion order, forgetting those whose record expired.
local function user_sessions(p, user)
  local live = {}
  for _, id in ipairs(redis.call('ZRANGE', p .. 'su:' .. user, 0, -1)) do
    if redis.call('EXISTS', p .. 's:' .. id) == 1 then
      table.insert(live, id)
    else
      redis.call('ZREM', p .. 'su:' .. user, id)
    end
  end
  return live
end
