-- systemd: the exit code says the unit's state: 0 active, 1 changing
-- (activating, reloading, deactivating), 2 inactive, failed or masked,
-- 3 cannot tell (systemd not running, unit not found).
if n == 0 then return "unknown" end
local function changing(e) return e == 1 end
local e = exit_codes[1]
if e == 0 then return "ok" end
if e == 1 then
  -- starting or stopping for three runs: stuck
  if consecutive(exit_codes, changing) >= 3 then return "major" end
  return "minor"
end
if e == 2 then
  if matches(messages[1], " failed ") then return "critical" end
  return "major"
end
return "unknown"
