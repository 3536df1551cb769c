-- uptime: the value is seconds since boot. It only grows, so a value below
-- the previous one means the host rebooted between the two runs: minor, for
-- that one result, so a reboot is an event someone sees but does not page.
if n == 0 then return "unknown" end
if isMissing(values[1]) then return "unknown" end
if n >= 2 and not isMissing(values[2]) and values[1] < values[2] then return "minor" end
return "ok"
