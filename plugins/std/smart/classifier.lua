-- smart: the value is the number of disks failing their SMART overall
-- self-assessment (the disk's own prediction that it will fail soon).
if n == 0 then return "unknown" end
if isMissing(values[1]) then return "unknown" end
-- a disk predicts its own failure: replace it now
if values[1] > 0 then return "critical" end
-- every disk that answered passed, but some could not be read
if exit_codes[1] == 3 then return "minor" end
if exit_codes[1] ~= 0 then return "unknown" end
return "ok"
