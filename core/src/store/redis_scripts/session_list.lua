-- The records of a user's sessions, in insertion order. ARGV prefix user
local p, user = ARGV[1], ARGV[2]
local out = {}
for _, id in ipairs(user_sessions(p, user)) do
  table.insert(out, record(p, id))
end
return out
