package runner

import (
	"maps"
	"slices"
	"strings"
)

// DefaultPath is the PATH plugins get: the standard system directories, so
// a plugin finds df, ps and awk, and nothing from the agent's environment.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Env returns a plugin's whole environment: PATH (DefaultPath), LANG=C (so
// output is not localised and parsers see "1.5", not "1,5"), and each
// parameter as PROPHASIS_PARAM_<NAME>, NAME being the parameter's name in
// upper case with every character other than A-Z, 0-9 and _ replaced by _.
func Env(params map[string]string) []string {
	env := make([]string, 0, 2+len(params))
	env = append(env, "PATH="+DefaultPath, "LANG=C")
	for _, name := range slices.Sorted(maps.Keys(params)) {
		env = append(env, "PROPHASIS_PARAM_"+envName(name)+"="+params[name])
	}
	return env
}

func envName(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			return r
		}
		return '_'
	}, name)
}
