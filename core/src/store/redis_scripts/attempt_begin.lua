-- Counts one attempt in advance, unless the key is locked; see ThrottlePolicy.
-- KEYS[1] attempts; ARGV now free_failures base_delay max_delay forget_after
-- The entry is "<failures> <locked_until> <forget_at>".
local now = tonumber(ARGV[1])
local free, base, max_delay, forget = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local failures = 0
local stored = redis.call('GET', KEYS[1])
if stored then
  local f, locked, forget_at = string.match(stored, '^(%d+) (%d+) (%d+)$')
  if f and tonumber(forget_at) > now then
    if tonumber(locked) > now then
      return {0, tonumber(locked)}
    end
    failures = tonumber(f)
  end
end
failures = failures + 1
-- ThrottlePolicy::delay_after: free failures cost nothing, then the delay doubles.
local first = math.max(free, 1)
local delay = 0
if failures >= first then
  delay = math.min(base * 2 ^ math.min(failures - first, 63), max_delay)
end
local locked_until = now + delay
local forget_at = math.max(locked_until, now + forget)
if forget_at > now then
  redis.call('SET', KEYS[1], string.format('%d %d %d', failures, locked_until, forget_at),
    'PX', math.min((forget_at - now) * 1000, 315360000000))
else
  redis.call('DEL', KEYS[1])
end
return {1, failures}
