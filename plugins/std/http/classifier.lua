-- http: the exit code carries the check's parameters (status, match,
-- certificate days); the value is the response time in seconds; the
-- message has "certificate: N days left" or check_http's
-- "Certificate '...' expires in N day(s)" for HTTPS.
if n == 0 then return "unknown" end
local e = exit_codes[1]
if e ~= 0 and e ~= 1 and e ~= 2 then return "unknown" end
-- a certificate about to expire (or expired) breaks every client
local days = tonumber(capture(messages[1], "certificate: (-?[0-9]+) days left") or
  capture(messages[1], "[Ee]xpires in ([0-9]+) day") or "")
if days and days < 3 then return "critical" end
if matches(messages[1], "(?i)certificate .*expired") then return "critical" end
-- down twice in a row: an outage; once: maybe a deploy
local function failed(x) return x == 2 end
if e == 2 then
  if consecutive(exit_codes, failed) >= 2 then return "critical" end
  return "major"
end
if e == 1 then return "minor" end
-- slow (5 s or more) three times in a row
if consecutive(values, function(v) return v >= 5 end) >= 3 then return "minor" end
return "ok"
