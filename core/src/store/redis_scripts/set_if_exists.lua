-- Sets fields of a hash that exists; 0 if it does not. KEYS[1] hash; ARGV field/value pairs
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
