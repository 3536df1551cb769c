-- diskio: the value is the busy percent of the busiest disk over a short
-- sample; the message names it. A disk busy for a moment is normal (a
-- backup, a compaction); busy for many runs in a row, work is queueing.
if n == 0 then return "unknown" end
if isMissing(values[1]) then
  if matches(messages[1], "^no block devices") then return "ok" end
  return "unknown"
end
local function above(x) return function(v) return v >= x end end
if consecutive(values, above(95)) >= 5 then return "critical" end
if consecutive(values, above(90)) >= 3 then return "major" end
if consecutive(values, above(80)) >= 3 then return "minor" end
return "ok"
