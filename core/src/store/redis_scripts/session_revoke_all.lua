-- Revokes every live session of a user; answers how many. ARGV prefix user
local p, user = ARGV[1], ARGV[2]
local count = 0
for _, id in ipairs(user_sessions(p, user)) do
  if redis.call('HGET', p .. 's:' .. id, 'r') ~= '1' then
    count = count + 1
    redis.call('HSET', p .. 's:' .. id, 'r', '1')
  end
end
return count
