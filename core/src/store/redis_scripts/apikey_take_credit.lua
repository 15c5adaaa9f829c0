-- Takes one credit from a metered key: 0 when none is left; 1 otherwise (also for keys
-- without a balance). A rolled key's balance lives with the newest key of its line:
-- `rb` is followed at most ARGV[3] times. The presented key's last use becomes ARGV[2].
-- KEYS[1] record; ARGV key prefix (`<p>k:`), now, max chain
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'lu', ARGV[2])
end
local key = KEYS[1]
for _ = 1, tonumber(ARGV[3]) do
  local next = redis.call('HGET', key, 'rb')
  if not next or redis.call('EXISTS', ARGV[1] .. next) == 0 then
    break
  end
  key = ARGV[1] .. next
end
local credits = redis.call('HGET', key, 'c')
if not credits then
  return 1
end
if tonumber(credits) <= 0 then
  return 0
end
redis.call('HINCRBY', key, 'c', -1)
return 1
