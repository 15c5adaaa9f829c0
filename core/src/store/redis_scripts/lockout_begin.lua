-- Counts one code attempt for an account in advance, unless `cap` failed in a row already.
-- KEYS[1] lockout; ARGV cap forget_after_ms
-- The entry is the count; it expires forget_after after the last failure, and never once
-- the count reaches the cap (an administrator's unlock deletes it).
local cap = tonumber(ARGV[1])
local failures = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if failures >= cap then
  return {0, failures}
end
failures = redis.call('INCR', KEYS[1])
if failures >= cap then
  redis.call('PERSIST', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return {1, failures}
