-- journal: the value is error entries per minute over the window; the exit
-- code carries the check's own thresholds (parameters warning, critical).
if n == 0 then return "unknown" end
if isMissing(values[1]) then return "unknown" end
local function above(x) return function(v) return v >= x end end
-- a flood of errors: 60 a minute, for two runs
if consecutive(values, above(60)) >= 2 then return "critical" end
if exit_codes[1] == 2 then return "major" end
-- some errors in three runs in a row: something keeps failing
if consecutive(values, above(0.1)) >= 3 then return "minor" end
if exit_codes[1] == 1 then return "minor" end
if exit_codes[1] ~= 0 then return "unknown" end
return "ok"
