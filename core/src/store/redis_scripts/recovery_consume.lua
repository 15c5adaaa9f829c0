-- Uses up the recovery code whose hash matches, compared in constant time against every
-- stored hash so timing says nothing about which one matched.
-- KEYS[1] recovery set; ARGV hash
-- ct_eq() is ct_eq.lua, prepended to this script.
local found = nil
for _, stored in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if ct_eq(stored, ARGV[1]) then
    found = stored
  end
end
if found then
  redis.call('SREM', KEYS[1], found)
  return 1
end
return 0
