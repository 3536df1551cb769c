// Package plugins is the plugin package format (manifest, archive, hashing,
// lint), the server-side registry and the standard plugin library. The agent
// may import the format; the registry is the server's.
package plugins
