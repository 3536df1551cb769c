package pkg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/prophasis/prophasis/plugins/manifest"
)

// SkeletonKinds are the kinds Skeleton can write.
var SkeletonKinds = []string{"exec", "nagios", "munin"}

// Skeleton writes a new plugin called name of the given kind ("exec",
// "nagios" or "munin") into dir, which must not exist or be empty: a
// manifest, a working script in bin/, a classifier with thresholds, a
// README and a test fixture whose expectations pass. The example measures
// how full the file system holding a path is (df -P), so it runs anywhere.
// It returns the files written, relative to dir.
func Skeleton(dir, name, kind string) ([]string, error) {
	if !slices.Contains(SkeletonKinds, kind) {
		return nil, fmt.Errorf("kind %q: want one of %s", kind, strings.Join(SkeletonKinds, ", "))
	}
	m := skeletonManifest(name, kind)
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("plugin name %q: %w", name, err)
	}
	entries, err := os.ReadDir(dir)
	switch {
	case err == nil && len(entries) > 0:
		return nil, fmt.Errorf("%s exists and is not empty: choose another --dir", dir)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	created := err != nil // the directory is made here
	files, err := writeSkeleton(dir, name, kind, m)
	if err != nil && created {
		os.RemoveAll(dir) // nothing half-written stays behind
	}
	return files, err
}

// writeSkeleton writes the skeleton's files under dir.
func writeSkeleton(dir, name, kind string, m manifest.Manifest) ([]string, error) {
	var mf bytes.Buffer
	enc := json.NewEncoder(&mf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	r := strings.NewReplacer("NAME", name)
	files := []struct {
		path string
		mode os.FileMode
		body string
	}{
		{manifest.FileName, 0o644, mf.String()},
		{m.Entrypoint, 0o755, r.Replace(scripts[kind])},
		{"classifier.lua", 0o644, r.Replace(classifiers[kind])},
		{ReadmeFile, 0o644, r.Replace(readmeHead + readmeKind[kind] + readmeTail)},
		{TestsDir + "/history.json", 0o644, fixtures[kind]},
	}
	var written []string
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return written, err
		}
		if err := os.WriteFile(p, []byte(f.body), f.mode); err != nil {
			return written, err
		}
		if err := os.Chmod(p, f.mode); err != nil { // past the umask
			return written, err
		}
		written = append(written, f.path)
	}
	return written, nil
}

func skeletonManifest(name, kind string) manifest.Manifest {
	lo, hi := 0.0, 100.0
	m := manifest.Manifest{
		ManifestVersion: manifest.Version,
		Name:            name,
		Version:         "0.1.0",
		Description:     "How full the file system holding a path is, in percent (made by prophasis plugin new: edit me)",
		License:         "MIT",
		Kind:            kind,
		Entrypoint:      "bin/" + name + ".sh",
		Args:            []string{"${path}"},
		Interval:        "1m",
		Timeout:         "10s",
		Parameters: []manifest.Parameter{
			{Name: "path", Type: "string", Default: "/", Description: "the file system holding this path is measured"},
		},
		History:    10,
		Classifier: "classifier.lua",
		TrendRules: []manifest.TrendRule{{
			Name:        "fill",
			Description: "the file system fills up within a day (critical) or three days (major)",
			Selector:    `prophasis_value{plugin="` + name + `"}`,
			Window:      "6h",
			Interval:    "5m",
			Expr:        `last(window) >= 100 || timeleft(window, 100) < duration("24h") ? "critical" : timeleft(window, 100) < duration("72h") ? "major" : "ok"`,
		}},
		Graphs: []manifest.Graph{
			{Metric: "value", Unit: "percent", Help: "space used on the file system", Chart: "line", Min: &lo, Max: &hi},
			{Metric: "state", Chart: "state"},
		},
	}
	if kind == "munin" {
		m.Args = nil // Munin plugins take "config" or nothing; the path comes from the environment
		m.Graphs[0] = manifest.Graph{Metric: "used", Unit: "percent", Help: "space used on the file system", Chart: "line", Min: &lo, Max: &hi}
		m.TrendRules[0].Selector = `prophasis_` + strings.NewReplacer("-", "_", ".", "_").Replace(name) + `_used`
	}
	return m
}

var scripts = map[string]string{
	"exec": `#!/bin/sh
# NAME: a Prophasis exec plugin. It prints one JSON object on standard output:
#   {"value": <number or null>, "message": "<text>", "metrics": {"<name>": <number>}}
# and exits 0. The manifest passes the parameter "path" as $1 ("${path}" in
# args); every parameter is also in the environment as PROPHASIS_PARAM_<NAME>.
set -u
path="${1:-${PROPHASIS_PARAM_PATH:-/}}"
used=$(df -P "$path" 2>/dev/null | awk 'NR == 2 { sub("%", "", $5); print $5 }')
if [ -z "$used" ]; then
	printf '{"value": null, "message": "cannot measure %s"}\n' "$path"
	exit 3
fi
printf '{"value": %s, "message": "%s%% used"}\n' "$used" "$used"
`,
	"nagios": `#!/bin/sh
# NAME: a Nagios-style plugin. It prints one line, "STATUS - text|perfdata",
# and exits 0 (OK), 1 (WARNING), 2 (CRITICAL) or 3 (UNKNOWN). The manifest
# passes the parameter "path" as $1.
set -u
path="${1:-/}"
used=$(df -P "$path" 2>/dev/null | awk 'NR == 2 { sub("%", "", $5); print $5 }')
if [ -z "$used" ]; then
	echo "UNKNOWN - cannot measure $path"
	exit 3
fi
if [ "$used" -ge 95 ]; then
	echo "CRITICAL - $used% used|used=$used%;90;95;0;100"
	exit 2
fi
if [ "$used" -ge 90 ]; then
	echo "WARNING - $used% used|used=$used%;90;95;0;100"
	exit 1
fi
echo "OK - $used% used|used=$used%;90;95;0;100"
exit 0
`,
	"munin": `#!/bin/sh
# NAME: a Munin-style plugin. Called with "config" it describes its fields;
# called without arguments it prints "field.value N" lines. The path to
# measure comes from the parameter "path" (PROPHASIS_PARAM_PATH).
set -u
path="${PROPHASIS_PARAM_PATH:-/}"
if [ "${1:-}" = "config" ]; then
	echo "graph_title Space used on $path"
	echo "graph_vlabel percent"
	echo "used.label used"
	exit 0
fi
used=$(df -P "$path" 2>/dev/null | awk 'NR == 2 { sub("%", "", $5); print $5 }')
if [ -z "$used" ]; then
	exit 1
fi
echo "used.value $used"
`,
}

var classifiers = map[string]string{
	"exec": `-- NAME: judge the used percentage. values[1] is the newest result, values[2]
-- the one before; see docs/classifiers.md for every global and helper.
if n == 0 or isMissing(values[1]) then return "unknown" end -- the run measured nothing
if values[1] >= 95 then return "critical" end
if values[1] >= 90 then return "major" end
-- minor only when it stays high: the last three results all at 80 or more
if consecutive(values, function(v) return v >= 80 end) >= 3 then return "minor" end
return "ok"
`,
	"nagios": `-- NAME: the Nagios exit status decides (0 OK, 1 WARNING, 2 CRITICAL),
-- but a WARNING is only major once it has lasted three runs.
if n == 0 then return "unknown" end
local e = exit_codes[1]
if e == 0 then return "ok" end
if e == 2 then return "critical" end
if e == 1 then
  if consecutive(exit_codes, function(c) return c == 1 end) >= 3 then return "major" end
  return "minor"
end
return "unknown"
`,
	"munin": `-- NAME: Munin plugins report metrics, not a value; a run that exited 0
-- measured something. Judge the metric with a trend rule or an alert.
if n == 0 then return "unknown" end
if exit_codes[1] == 0 then return "ok" end
-- one failed run is noise; three in a row are a problem
if consecutive(exit_codes, function(c) return c ~= 0 end) >= 3 then return "major" end
return "unknown"
`,
}

var fixtures = map[string]string{
	"exec": `[
  {"value": 42, "message": "42% used", "expect": "ok"},
  {"value": 85, "message": "85% used", "expect": "ok"},
  {"value": 86, "message": "86% used", "expect": "ok"},
  {"value": 87, "message": "87% used", "expect": "minor"},
  {"value": 91, "message": "91% used", "expect": "major"},
  {"value": 96, "message": "96% used", "expect": "critical"},
  {"value": null, "message": "cannot measure /", "exit_code": 3, "expect": "unknown"},
  {"value": 50, "message": "50% used", "expect": "ok"}
]
`,
	"nagios": `[
  {"message": "OK - 42% used", "exit_code": 0, "expect": "ok"},
  {"message": "WARNING - 91% used", "exit_code": 1, "expect": "minor"},
  {"message": "WARNING - 92% used", "exit_code": 1, "expect": "minor"},
  {"message": "WARNING - 92% used", "exit_code": 1, "expect": "major"},
  {"message": "CRITICAL - 96% used", "exit_code": 2, "expect": "critical"},
  {"message": "UNKNOWN - cannot measure /", "exit_code": 3, "expect": "unknown"},
  {"message": "OK - 50% used", "exit_code": 0, "expect": "ok"}
]
`,
	"munin": `[
  {"exit_code": 0, "expect": "ok"},
  {"exit_code": 1, "expect": "unknown"},
  {"exit_code": 1, "expect": "unknown"},
  {"exit_code": 1, "expect": "major"},
  {"exit_code": 0, "expect": "ok"}
]
`,
}

const readmeHead = "# NAME\n\n" +
	"A Prophasis plugin that reports how full the file system holding a path is, in percent.\n" +
	"It was made by `prophasis plugin new` as a starting point: replace the measurement in\n" +
	"`bin/NAME.sh`, the thresholds in `classifier.lua` and this text with your own.\n\n"

var readmeKind = map[string]string{
	"exec": "## What it reports\n\n" +
		"An `exec` plugin: each run prints one JSON object, `{\"value\": 87, \"message\": \"87% used\"}`.\n" +
		"The value is the percentage of the file system in use; the message repeats it.\n\n" +
		"## States\n\n" +
		"| state | when |\n| --- | --- |\n" +
		"| critical | 95 % or more |\n| major | 90 % or more |\n" +
		"| minor | 80 % or more for the last three runs |\n" +
		"| unknown | the run measured nothing (no value) |\n| ok | otherwise |\n\n",
	"nagios": "## What it reports\n\n" +
		"A `nagios` plugin: it prints `OK - 42% used|used=42%;90;95;0;100` and exits 0, 1 or 2.\n\n" +
		"## States\n\n" +
		"| state | when |\n| --- | --- |\n" +
		"| critical | exit status 2 (95 % or more) |\n" +
		"| major | exit status 1 (90 % or more) for three runs in a row |\n" +
		"| minor | exit status 1 for fewer runs |\n| unknown | exit status 3 |\n| ok | exit status 0 |\n\n",
	"munin": "## What it reports\n\n" +
		"A `munin` plugin: `config` describes the field `used`; a run prints `used.value 42`,\n" +
		"which the server stores as the metric `prophasis_NAME_used` (dashes and dots become `_`).\n\n" +
		"## States\n\n" +
		"| state | when |\n| --- | --- |\n" +
		"| ok | the run exited 0 |\n| major | three failed runs in a row |\n| unknown | a failed run |\n\n",
}

const readmeTail = "## Parameters\n\n" +
	"| name | type | default | what |\n| --- | --- | --- | --- |\n" +
	"| `path` | string | `/` | the file system holding this path is measured |\n\n" +
	"## Trend rule\n\n" +
	"`fill` fits a line through the last six hours and is critical when the file system\n" +
	"would be full within a day, major within three days.\n\n" +
	"## Trying it\n\n" +
	"```sh\n" +
	"prophasis plugin lint .\n" +
	"prophasis plugin test . --history tests/history.json\n" +
	"prophasis plugin pack . -o NAME.tar.gz\n" +
	"prophasis plugin push NAME.tar.gz\n" +
	"```\n"
