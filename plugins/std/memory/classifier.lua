-- memory: the value is the percent of memory in use (total minus available).
if n == 0 then return "unknown" end
if isMissing(values[1]) then return "unknown" end
local function above(x) return function(v) return v >= x end end
-- nearly nothing left: the OOM killer is close
if values[1] >= 97 then return "critical" end
if consecutive(values, above(95)) >= 2 then return "critical" end
if consecutive(values, above(90)) >= 2 then return "major" end
if values[1] >= 85 then return "minor" end
return "ok"
