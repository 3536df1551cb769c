//go:build !linux

package runner

// becomeSubreaper does nothing where there is no child subreaper: orphaned
// plugin processes go to init, which reaps them.
func becomeSubreaper() error { return nil }
