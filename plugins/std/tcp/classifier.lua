-- tcp: check_tcp's exit code says whether the port answered (0), slowly
-- (1, past the warning parameter) or not at all / past critical (2). One
-- refused connection can be a restart; two in a row is an outage.
if n == 0 then return "unknown" end
local function failed(e) return e == 2 end
local e = exit_codes[1]
if e == 0 then return "ok" end
if e == 1 then return "minor" end
if e == 2 then
  if consecutive(exit_codes, failed) >= 2 then return "critical" end
  return "major"
end
return "unknown"
