-- network: the value is received plus transmitted bytes per second (missing
-- on the agent's first run, whose message starts "since boot:"); the message
-- says "eth0 rx 1.2 MiB/s tx 30 KiB/s, 4 new errors" when an interface
-- counted errors since the previous run. Throughput alone is never a problem.
if n == 0 then return "unknown" end
local function erring(m) return matches(m, "[0-9]+ new errors") end
if erring(messages[1]) then
  -- errors in three runs in a row: a bad cable, port or driver
  if consecutive(messages, erring) >= 3 then return "major" end
  return "minor"
end
if isMissing(values[1]) and not matches(messages[1], "^since boot: |^no traffic") then
  return "unknown"
end
return "ok"
