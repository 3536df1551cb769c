package collect

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"
)

// Registry holds one instance of every built-in collector, by name. The
// instances keep their state (previous CPU counters, say) between runs, so
// the agent should make one Registry and keep it.
type Registry struct {
	byName map[string]Collector
	names  []string
}

// NewRegistry returns the built-in collectors configured by opts.
func NewRegistry(opts Options) *Registry {
	e := env{root: opts.Root, now: opts.Now}
	if e.root == "" {
		e.root = "/"
	}
	if e.now == nil {
		e.now = time.Now
	}
	statfs := opts.statfs
	if statfs == nil {
		statfs = statfsPath
	}
	pageSize := float64(opts.pageSize)
	if pageSize <= 0 {
		pageSize = float64(os.Getpagesize())
	}
	tail := opts.SyslogTailBytes
	if tail <= 0 {
		tail = DefaultSyslogTailBytes
	}
	all := []Collector{
		&uptimeCollector{env: e},
		&loadCollector{env: e},
		&memoryCollector{env: e},
		&cpuCollector{env: e},
		&networkCollector{env: e, loopback: opts.IncludeLoopback},
		newDiskCollector(e, statfs),
		&usersCollector{env: e},
		&processesCollector{env: e, pageSize: pageSize},
		&syslogCollector{env: e, tail: tail},
	}
	r := &Registry{byName: make(map[string]Collector, len(all))}
	for _, c := range all {
		r.byName[c.Name()] = platformCheck{c}
		r.names = append(r.names, c.Name())
	}
	sort.Strings(r.names)
	return r
}

// Lookup returns the collector called name, or false if there is none.
func (r *Registry) Lookup(name string) (Collector, bool) {
	c, ok := r.byName[name]
	return c, ok
}

// Names lists the registered collectors, sorted.
func (r *Registry) Names() []string {
	return append([]string(nil), r.names...)
}

var (
	defaultOnce     sync.Once
	defaultRegistry *Registry
)

// Default is the registry of collectors reading this machine's /proc, made
// on first use and shared by everyone in the process.
func Default() *Registry {
	defaultOnce.Do(func() { defaultRegistry = NewRegistry(Options{}) })
	return defaultRegistry
}

// Lookup returns the collector called name from the Default registry.
func Lookup(name string) (Collector, bool) { return Default().Lookup(name) }

// Names lists the collectors of the Default registry, sorted.
func Names() []string { return Default().Names() }

// platformCheck refuses to run on systems the collectors do not support, so
// each collector need not check.
type platformCheck struct{ Collector }

func (p platformCheck) Collect(ctx context.Context) (Collected, error) {
	if !supported {
		return Collected{}, fmt.Errorf("%s: %w", p.Name(), ErrNotSupported)
	}
	if err := ctx.Err(); err != nil {
		return Collected{}, err
	}
	return p.Collector.Collect(ctx)
}
