-- processes: the value is the number of processes; the message starts
-- "312 processes (2 running, 0 blocked, 1 zombie)".
if n == 0 then return "unknown" end
if isMissing(values[1]) then return "unknown" end
local function count(m, what)
  return tonumber(capture(m, "([0-9]+) " .. what) or "") or 0
end
local function zombies(m) return count(m, "zombie") > 0 end
local z = count(messages[1], "zombie")
-- a fork bomb, or a leak of processes
if values[1] >= 10000 then return "critical" end
-- zombies piling up: some parent never reaps its children
if z >= 50 then return "major" end
-- zombies that stay for 5 runs (a zombie for a moment is normal)
if consecutive(messages, zombies) >= 5 then return "minor" end
-- many processes stuck in uninterruptible I/O for 3 runs: storage trouble
if consecutive(messages, function(m) return count(m, "blocked") >= 10 end) >= 3 then return "minor" end
return "ok"
