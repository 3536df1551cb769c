// Command prophasis-agent runs on every monitored host: enrolled once, it
// follows the plan its server gives, runs plugins one at a time on the
// schedule, and pushes every result through a durable spool.
//
//	prophasis-agent --server https://monitor:4048 --enroll-token T [--ca-sha256 H] --data-dir D   (once)
//	prophasis-agent --data-dir D
//	prophasis-agent --data-dir D [--mesh-bind ADDR]   (the mesh as the server's plan says)
//	prophasis-agent --data-dir D --mesh --mesh-cluster C --mesh-key-file K --mesh-allow 192.168.0. [--mesh-seeds H] [--status-listen :8080]
//
// main only parses flags and handles signals; the agent package does the work.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/prophasis/prophasis/agent"
	"github.com/prophasis/prophasis/agent/mesh"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	var opts agent.Options
	fs := flag.NewFlagSet("prophasis-agent", flag.ContinueOnError)
	fs.StringVar(&opts.DataDir, "data-dir", "/var/lib/prophasis-agent", "directory for the agent's credential (0600) and spool")
	fs.StringVar(&opts.Server, "server", "", "server URL, https://host:4048 (with --enroll-token)")
	fs.StringVar(&opts.EnrollToken, "enroll-token", "", "one-time enrolment token from `prophasis token create HOST`")
	fs.StringVar(&opts.CASHA256, "ca-sha256", "", "fingerprint of the server's CA, checked before trusting it at enrolment")
	fs.BoolVar(&opts.AllowHTTP, "allow-http", false, "allow a plain http:// server: credentials and results cross the network unencrypted")
	fs.StringVar(&opts.Host, "host", "", "name to enrol as (default: the hostname; the enrolment token decides)")
	fs.StringVar(&opts.PluginUser, "user", "nobody", "started as root, the agent becomes this unprivileged user (and its groups) once its ports are bound, and runs plugins as it; the data directory is given to it")
	fs.StringVar(&opts.PluginKeysFile, "plugin-keys", "", "file of trusted public keys (one per line): run only plugin packages signed by one of them")
	var mo agent.MeshOptions
	meshOn := fs.Bool("mesh", false, "join the agent mesh: gossip this host's status with peers and keep theirs (docs/mesh.md)")
	fs.StringVar(&mo.Mesh.BindAddr, "mesh-bind", "0.0.0.0", "address the mesh listens on (UDP and TCP)")
	fs.IntVar(&mo.Mesh.Port, "mesh-port", mesh.DefaultPort, "mesh port, the same on every agent")
	fs.StringVar(&mo.Mesh.Cluster, "mesh-cluster", "", "the mesh's name: agents with another name are ignored")
	keyFile := fs.String("mesh-key-file", "", "file with the mesh's keys, one base64 key per line, the first used to send (mode 0600)")
	seeds := fs.String("mesh-seeds", "", "comma-separated peers (host or host:port) to join through")
	scan := fs.String("mesh-scan", "", "address ranges to scan for peers when no seed answers (192.168.0.100-199, 192.168.0., 10.1.0.0/24)")
	allow := fs.String("mesh-allow", "", "address ranges allowed in the mesh (also 192.168. prefix form; default: the scan ranges)")
	fs.DurationVar(&mo.Mesh.Interval, "mesh-interval", mesh.DefaultInterval, "how often this host's status is taken (gossiped only when changed)")
	fs.DurationVar(&mo.Mesh.Down, "mesh-down", mesh.DefaultDown, "a peer silent this long is marked down")
	fs.DurationVar(&mo.Mesh.Remove, "mesh-remove", mesh.DefaultRemove, "a peer silent this long is forgotten")
	fs.IntVar(&mo.Mesh.History, "mesh-history", mesh.DefaultHistory, "statuses kept per host")
	fs.StringVar(&mo.StatusListen, "status-listen", "", "address of the read-only status page of the mesh, e.g. :8080 (needs --mesh)")
	statusAllow := fs.String("status-allow", "127.0.0.1 ::1", "address ranges allowed to read the status page")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		os.Exit(2)
	}
	if *showVersion {
		fmt.Println("prophasis-agent", version)
		return
	}
	if opts.EnrollToken != "" && opts.Server == "" {
		fmt.Fprintln(os.Stderr, "prophasis-agent: --enroll-token needs --server")
		os.Exit(2)
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "prophasis-agent: log level %q: want debug, info, warn or error\n", *logLevel)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))
	opts.Version = version
	opts.DropTo = opts.PluginUser
	// The agent's heap is a few MiB: collecting at 25% growth instead of Go's
	// 100% keeps its resident memory about a third lower (11.7 -> 8.2 MiB
	// idle in bench/compare's footprint part) for CPU too small to measure.
	// GOGC in the environment still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(25)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var meshOpts *agent.MeshOptions
	if *meshOn {
		if err := meshFlags(&mo, *keyFile, *seeds, *scan, *allow, *statusAllow); err != nil {
			fmt.Fprintln(os.Stderr, "prophasis-agent:", err)
			os.Exit(2)
		}
		meshOpts = &mo
	} else if mo.StatusListen != "" {
		fmt.Fprintln(os.Stderr, "prophasis-agent: --status-listen needs --mesh")
		os.Exit(2)
	} else {
		// Without --mesh the server's plan turns the mesh on; --mesh-bind
		// still says which of this host's addresses it listens on.
		meshOpts = &agent.MeshOptions{FromPlan: true, Mesh: mesh.Options{BindAddr: mo.Mesh.BindAddr}}
	}
	err := agent.RunWithMesh(ctx, opts, meshOpts, logger)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "prophasis-agent:", err)
		os.Exit(1)
	}
}

// meshFlags fills the mesh options that need parsing: keys, seeds, ranges.
func meshFlags(mo *agent.MeshOptions, keyFile, seeds, scan, allow, statusAllow string) error {
	if mo.Mesh.Cluster == "" || keyFile == "" {
		return fmt.Errorf("--mesh needs --mesh-cluster and --mesh-key-file")
	}
	var err error
	if mo.Mesh.Keys, err = mesh.ReadKeyFile(keyFile); err != nil {
		return err
	}
	for _, s := range strings.Split(seeds, ",") {
		if s = strings.TrimSpace(s); s != "" {
			mo.Mesh.Seeds = append(mo.Mesh.Seeds, s)
		}
	}
	if mo.Mesh.Scan, err = mesh.ParseRanges(scan); err != nil {
		return fmt.Errorf("--mesh-scan: %w", err)
	}
	if allow == "" {
		allow = scan
	}
	if mo.Mesh.AllowJoin, err = mesh.ParseRanges(allow); err != nil {
		return fmt.Errorf("--mesh-allow: %w", err)
	}
	if len(mo.Mesh.AllowJoin) == 0 {
		return fmt.Errorf("--mesh needs --mesh-allow (or --mesh-scan): which addresses may join")
	}
	if mo.StatusAllow, err = mesh.ParseRanges(statusAllow); err != nil {
		return fmt.Errorf("--status-allow: %w", err)
	}
	if mo.Mesh.Down < time.Second {
		return fmt.Errorf("--mesh-down %s: at least a second", mo.Mesh.Down)
	}
	return nil
}
