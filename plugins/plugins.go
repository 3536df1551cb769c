// Package plugins is the plugin package format (manifest, archive, hashing,
// lint), the server-side registry and the standard plugin library. The agent
// may import the format (sub-package archive, standard library only); the
// registry is the server's.
//
// Packages is the registry's store of package archives, content-addressed
// by SHA-256 under the server's data directory. It imports store and
// plugins/archive; package api serves it.
package plugins
