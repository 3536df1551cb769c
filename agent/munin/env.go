package munin

import "path/filepath"

// DefaultLibDir is where Debian's munin-node and munin-plugins-core put
// plugin.sh and the plugins (MUNIN_LIBDIR).
const DefaultLibDir = "/usr/share/munin"

// Env returns the environment munin-node gives a plugin, which plugins need
// to run: MUNIN_LIBDIR (shell plugins source $MUNIN_LIBDIR/plugins/plugin.sh),
// MUNIN_PLUGSTATE and MUNIN_STATEFILE (a directory writable by the plugin's
// user, where plugins keep state between runs), and MUNIN_CAP_MULTIGRAPH=1
// (multigraph plugins refuse to run without it). plugin names the state file
// inside stateDir. The runner appends the plugin's parameters.
func Env(libDir, stateDir, plugin string) []string {
	return []string{
		"MUNIN_LIBDIR=" + libDir,
		"MUNIN_PLUGSTATE=" + stateDir,
		"MUNIN_STATEFILE=" + filepath.Join(stateDir, plugin+".state"),
		"MUNIN_CAP_MULTIGRAPH=1",
	}
}
