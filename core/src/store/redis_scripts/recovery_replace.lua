-- Replaces a user's recovery-code hashes. KEYS[1] recovery set; ARGV the hashes.
redis.call('DEL', KEYS[1])
if #ARGV > 0 then
  redis.call('SADD', KEYS[1], unpack(ARGV))
end
return 1
