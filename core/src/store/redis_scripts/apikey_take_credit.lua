-- Takes one credit from a metered key: 0 when none is left; 1 otherwise (also for keys
-- without a balance). KEYS[1] record
local credits = redis.call('HGET', KEYS[1], 'c')
if not credits then
  return 1
end
if tonumber(credits) <= 0 then
  return 0
end
redis.call('HINCRBY', KEYS[1], 'c', -1)
return 1
