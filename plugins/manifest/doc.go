// Package manifest is a plugin package's manifest.json: what the plugin is,
// how the agent runs it, how its results are judged and graphed. It is the
// format's contract shared by the server (registry, lint), the operator CLI
// (`prophasis plugin ...`) and the standard library; it imports only the
// standard library so any of them may use it.
//
// A package is a .tar.gz with manifest.json at its root, beside the files
// the manifest names (the entrypoint for shipped scripts, classifier.lua,
// README.md, tests/). Manifest version 1:
//
//	{
//	  "manifest_version": 1,
//	  "name": "disk",                       // store.NamePattern, at most 64
//	  "version": "1.2.0",                   // semantic version 2.0
//	  "description": "Disk usage per mount",
//	  "author": "Jane Doe <jane@example.com>",
//	  "license": "MIT",                     // SPDX identifier
//	  "homepage": "https://example.com/disk",
//	  "kind": "exec",                       // exec | nagios | munin | builtin
//	  "entrypoint": "bin/disk.sh",          // see Entrypoint
//	  "args": ["-p", "${mount}"],           // ${param} is replaced by the parameter
//	  "platforms": ["linux/amd64", "linux/arm64"],
//	  "interval": "1m",                     // default schedule period
//	  "timeout": "10s",
//	  "parameters": [
//	    {"name": "mount", "type": "string", "default": "/", "description": "the mount point"}
//	  ],
//	  "history": 10,
//	  "classifier": "classifier.lua",
//	  "trend_rules": [
//	    {"name": "fill", "selector": "prophasis_disk_used_percent", "window": "6h",
//	     "interval": "5m", "expr": "timeleft(window, 100) < duration(\"24h\") ? \"critical\" : \"ok\""}
//	  ],
//	  "graphs": [
//	    {"metric": "value", "unit": "percent", "help": "used space", "chart": "line", "min": 0, "max": 100}
//	  ]
//	}
package manifest
