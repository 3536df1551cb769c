//go:build linux

package collect

// supported is true where the collectors can read what they need.
const supported = true
