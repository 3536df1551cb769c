-- process: check_procs exits 2 when the number of processes called "name"
-- is outside min..max (none running, typically). A process missing at one
-- run may be restarting; missing at two runs in a row it is down.
if n == 0 then return "unknown" end
local function bad(e) return e == 2 end
local e = exit_codes[1]
if e == 0 then return "ok" end
if e == 1 then return "minor" end
if e == 2 then
  if consecutive(exit_codes, bad) >= 2 then return "critical" end
  return "major"
end
return "unknown"
