-- swap: the value is the percent of swap in use; none when the host has no
-- swap ("no swap configured"), which is fine. The exit code carries the
-- check's own thresholds (parameters warning and critical).
if n == 0 then return "unknown" end
if isMissing(values[1]) then
  if matches(messages[1], "^no swap configured") then return "ok" end
  return "unknown"
end
-- swap full: the next allocation may wake the OOM killer
if values[1] >= 95 then return "critical" end
if exit_codes[1] == 2 then return "major" end
if exit_codes[1] == 1 then return "minor" end
if exit_codes[1] ~= 0 then return "unknown" end
return "ok"
