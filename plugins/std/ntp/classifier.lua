-- ntp: the value is the clock's offset in seconds; none when no NTP
-- source answered (exit 3), which says nothing about the clock: unknown.
if n == 0 then return "unknown" end
if isMissing(values[1]) then return "unknown" end
local o = math.abs(values[1])
-- a second or more: TLS, Kerberos, distributed databases start failing
if o >= 1 then return "critical" end
if exit_codes[1] == 2 or o >= 0.5 then return "major" end
if exit_codes[1] == 1 then return "minor" end
-- drifting: more than 100 ms for three runs in a row
if consecutive(values, function(v) return math.abs(v) >= 0.1 end) >= 3 then return "minor" end
if exit_codes[1] ~= 0 then return "unknown" end
return "ok"
