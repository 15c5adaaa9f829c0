-- GCRA for one bucket, exactly as Gcra::take does it in Rust. Times travel as
-- (seconds, nanoseconds) pairs: Lua numbers are doubles, exact only to 2^53, and a Unix
-- time in nanoseconds is past that. The bucket holds "<seconds> <nanoseconds>" of the
-- time it is full again, and expires then.
-- KEYS[1] bucket; ARGV now_s now_n step_s step_n cap_s cap_n cost
local now_s, now_n = tonumber(ARGV[1]), tonumber(ARGV[2])
local step_s, step_n = tonumber(ARGV[3]), tonumber(ARGV[4])
local cap_s, cap_n = tonumber(ARGV[5]), tonumber(ARGV[6])
local cost = tonumber(ARGV[7])
local start_s, start_n = now_s, now_n
local stored = redis.call('GET', KEYS[1])
if stored then
  local s, n = string.match(stored, '^(%d+) (%d+)$')
  if s then
    s, n = tonumber(s), tonumber(n)
    if s > now_s or (s == now_s and n > now_n) then
      start_s, start_n = s, n
    end
  end
end
local after_s, after_n = start_s + step_s, start_n + step_n
if after_n >= 1e9 then
  after_s, after_n = after_s + 1, after_n - 1e9
end
local level_s, level_n = after_s - now_s, after_n - now_n
if level_n < 0 then
  level_s, level_n = level_s - 1, level_n + 1e9
end
if level_s < cap_s or (level_s == cap_s and level_n <= cap_n) then
  local ttl_ms = level_s * 1000 + math.ceil(level_n / 1e6)
  if cost > 0 and ttl_ms > 0 then
    redis.call('SET', KEYS[1], string.format('%d %d', after_s, after_n), 'PX', ttl_ms)
  end
  return {1, after_s, after_n}
end
return {0, start_s, start_n}
