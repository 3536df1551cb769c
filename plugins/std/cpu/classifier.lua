-- cpu: the value is the busy percent of all CPUs since the previous run; the
-- message carries iowait and steal ("cpu 12.0% busy ... (iowait 1.0%, steal 0.0%)").
if n == 0 then return "unknown" end
if isMissing(values[1]) then return "unknown" end
local function busy(x) return function(v) return v >= x end end
-- saturated for five runs in a row: work is queueing
if consecutive(values, busy(95)) >= 5 then return "critical" end
if consecutive(values, busy(90)) >= 3 then return "major" end
if consecutive(values, busy(80)) >= 3 then return "minor" end
-- waiting for disks, or for the hypervisor, most of the time
local iowait = capture(messages[1], "iowait ([0-9.]+)%")
local steal = capture(messages[1], "steal ([0-9.]+)%")
if iowait and tonumber(iowait) >= 30 then return "minor" end
if steal and tonumber(steal) >= 20 then return "minor" end
return "ok"
