// Package plugins is the plugin package format (manifest, archive, hashing,
// lint), the server-side registry and the standard plugin library. The agent
// may import the format (sub-packages archive, manifest and sign, standard
// library only); the registry is the server's.
//
// Packages is the registry's store of package archives, content-addressed
// by SHA-256 under the server's data directory. Registry checks uploaded
// packages (plugins/pkg: archive, manifest, lint; plugins/sign: signatures
// against the server's trusted keys), keeps them in Packages and publishes
// them as plugin versions in the store; it rolls plugins back and forward,
// installs the trend rules manifests ship and publishes the standard
// library (plugins/std) at start. It imports store and the plugins
// sub-packages; package api serves it.
package plugins
