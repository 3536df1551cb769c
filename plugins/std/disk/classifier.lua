-- disk: the value is the used percent of the fullest real filesystem; the
-- message names it ("fullest: /var 91.0% used, 3 filesystems"). The trend
-- rule "fill" predicts, per filesystem, when each will be full.
if n == 0 then return "unknown" end
if isMissing(values[1]) then
  -- no disk filesystem at all (a diskless container) is nothing to fix
  if matches(messages[1], "^no disk filesystem mounted") then return "ok" end
  return "unknown"
end
if values[1] >= 95 then return "critical" end
if values[1] >= 90 then return "major" end
-- growing more than 5 points an hour over the history, and already past 80
local perSecond = rate(values, timestamps)
if values[1] >= 80 and perSecond and perSecond * 3600 > 5 then return "major" end
if values[1] >= 85 then return "minor" end
if matches(messages[1], "cannot stat") then return "minor" end
return "ok"
