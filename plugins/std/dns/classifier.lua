-- dns: exit 0 the name resolves (to the expected address, when one is
-- set), 1 slowly, 2 not at all or to other addresses, 3 cannot tell.
if n == 0 then return "unknown" end
local e = exit_codes[1]
local function failed(x) return x == 2 end
if e == 0 then return "ok" end
if e == 1 then
  -- slow three times in a row: the resolver is struggling
  if consecutive(exit_codes, function(x) return x == 1 end) >= 3 then return "major" end
  return "minor"
end
if e == 2 then
  -- a wrong answer is worse than none: traffic goes elsewhere
  if matches(messages[1], ", not to ") then return "critical" end
  -- one failure can be a resolver restarting; two in a row are not
  if consecutive(exit_codes, failed) >= 2 then return "critical" end
  return "major"
end
return "unknown"
