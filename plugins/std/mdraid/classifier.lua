-- mdraid: the value is the number of degraded or inactive arrays; the
-- message starts "1 of 2 arrays degraded (1 rebuilding): md0 raid1 ok
-- [2/2]; md1 raid5 degraded [3/2], 1 failed device, recovery 8.5%".
if n == 0 then return "unknown" end
if isMissing(values[1]) or exit_codes[1] == 3 then return "unknown" end
local rebuilding = tonumber(capture(messages[1], "\\(([0-9]+) rebuilding\\)") or "") or 0
if values[1] > 0 then
  -- an array is inactive, or degraded without a rebuild under way: one
  -- more failure loses data
  if matches(messages[1], " inactive") or values[1] > rebuilding then return "critical" end
  -- every degraded array is rebuilding onto a spare: wait, watch
  return "major"
end
-- a failed device in an array that is still complete (a failed spare)
if exit_codes[1] == 1 or matches(messages[1], "failed device") then return "minor" end
return "ok"
