-- Checks a code hash against the live challenge in constant time: a match consumes it, a
-- mismatch counts an attempt.
-- KEYS[1] challenge; ARGV code_hash max now
-- Answers {0} accepted, {1, remaining} wrong, {2, until} locked, {3} missing.
local max_attempts, now = tonumber(ARGV[2]), tonumber(ARGV[3])
local live = redis.call('HMGET', KEYS[1], 'h', 'e', 'a')
if not live[2] or tonumber(live[2]) <= now then
  return {3}
end
if tonumber(live[3]) >= max_attempts then
  return {2, tonumber(live[2])}
end
-- ct_eq() is ct_eq.lua, prepended to this script.
if ct_eq(live[1], ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return {0}
end
local used = redis.call('HINCRBY', KEYS[1], 'a', 1)
return {1, max_attempts - used}
