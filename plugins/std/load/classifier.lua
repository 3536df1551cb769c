-- load: the value is the 1-minute load average; the message is
-- "load average: 1.00, 0.80, 0.50". The thresholds suit a machine with 2 to
-- 4 CPUs; edit them per check for bigger ones (see README.md).
if n == 0 then return "unknown" end
if isMissing(values[1]) then return "unknown" end
local load15 = tonumber(capture(messages[1], "load average: [0-9.]+, [0-9.]+, ([0-9.]+)") or "")
local function above(x) return function(v) return v > x end end
-- high for 5 runs in a row, and the 15-minute average agrees: sustained
if consecutive(values, above(8)) >= 5 then return "critical" end
if load15 and load15 > 8 then return "major" end
if consecutive(values, above(4)) >= 5 then return "major" end
if consecutive(values, above(4)) >= 3 then return "minor" end
return "ok"
