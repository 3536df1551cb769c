package wire

import "time"

// EnrollRequest is the body of POST /agent/v1/enroll. The request carries
// the one-time enrolment token as "Authorization: Bearer T".
type EnrollRequest struct {
	// Host is the name the agent reports as; it must match the name the
	// enrolment token was made for.
	Host    string `json:"host"`
	Version string `json:"version"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
}

// EnrollResponse gives the agent its own credential. The server keeps only
// a salted slow hash of it; the agent stores it with mode 0600.
type EnrollResponse struct {
	Host       string `json:"host"`
	Credential string `json:"credential"`
	// CACert is the PEM certificate of the CA that signed the server's TLS
	// certificate, which the agent pins from now on; empty over plain HTTP.
	CACert string `json:"ca_cert,omitempty"`
}

// Plan is what one agent runs: GET /agent/v1/plan, long-polled with
// If-None-Match (the server answers 304 when nothing changed within the
// wait, or 200 with a new ETag as soon as something does).
type Plan struct {
	Host string    `json:"host"`
	Runs []PlanRun `json:"runs"`
	// Mesh turns the agent mesh on (docs/mesh.md); nil when the server's
	// mesh settings are off. It holds the mesh's keys: never log a plan.
	Mesh *PlanMesh `json:"mesh,omitempty"`
}

// PlanRun is one plugin of one check on this host, with its schedule.
type PlanRun struct {
	Check  string `json:"check"`
	Plugin string `json:"plugin"`
	// Kind says how to run the plugin: "nagios", "munin", "exec" (prints a
	// JSON object) or "builtin" (a collector inside the agent).
	Kind string `json:"kind"`
	// Version and SHA256 name the plugin package; the agent downloads
	// GET /agent/v1/plugins/SHA256 when it lacks it and checks the hash.
	// Builtin plugins have neither.
	Version string `json:"version,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
	// Signature is the ed25519 signature of the package (package
	// plugins/sign's text form) when it was uploaded signed; an agent
	// told to trust certain keys refuses a package without a signature
	// by one of them.
	Signature string `json:"signature,omitempty"`
	// Entrypoint is the file to run inside the unpacked package, an
	// absolute path on the host (a Debian-installed Nagios plugin), or for
	// builtin plugins the collector's name.
	Entrypoint string `json:"entrypoint,omitempty"`
	// Args are the program's arguments.
	Args []string `json:"args,omitempty"`
	// Params are passed to the plugin (as arguments for Nagios plugins, as
	// environment variables for Munin and exec plugins).
	Params    map[string]string `json:"params,omitempty"`
	Intervals []Interval        `json:"intervals"`
	// MaxLateness is how late a run may start; later runs are skipped.
	MaxLateness Duration `json:"max_lateness"`
	// Timeout bounds one run.
	Timeout Duration `json:"timeout"`
}

// Interval is part of a schedule: runs fall on Start + k x Period.
type Interval struct {
	Start  time.Time `json:"start"`
	Period Duration  `json:"period"`
}

// Duration is a time.Duration that travels as milliseconds.
type Duration int64

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) * time.Millisecond }

// Millis converts a time.Duration.
func Millis(d time.Duration) Duration { return Duration(d / time.Millisecond) }
