-- users: the value is the number of login sessions; the message lists who,
-- "2 logged in: alice (1), root (1)".
if n == 0 then return "unknown" end
if isMissing(values[1]) then return "unknown" end
-- an interactive root login is worth knowing about
if matches(messages[1], "[:,] root \\(") then return "minor" end
-- unusually many sessions on a server
if values[1] > 20 then return "minor" end
return "ok"
