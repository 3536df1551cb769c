//go:build !linux

package collect

// supported is false: /proc, utmp and the syslog layout are Linux's.
const supported = false
