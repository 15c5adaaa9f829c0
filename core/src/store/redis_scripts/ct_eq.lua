-- Constant-time equality of two strings of the same length.
local function ct_eq(a, b)
  if not a or not b or #a ~= #b then
    return false
  end
  local diff = 0
  for i = 1, #a do
    diff = bit.bor(diff, bit.bxor(string.byte(a, i), string.byte(b, i)))
  end
  return diff == 0
end
