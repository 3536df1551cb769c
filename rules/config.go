package rules

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"

	"github.com/prophasis/prophasis/rules/classify"
	"github.com/prophasis/prophasis/rules/state"
	"github.com/prophasis/prophasis/store"
)

// DefaultHistory is n, the results a classifier sees, when the plugin does
// not say.
const DefaultHistory = 10

// judge is how the results of one check × plugin are judged.
type judge struct {
	cls    *classify.Classifier
	n      int
	policy state.Policy
}

// judgeKey names a judge: a plugin within a check, or (check "") the
// plugin's own classifier, for results of checks not configured.
type judgeKey struct{ check, plugin string }

// config is one compiled snapshot of the configuration. It is immutable:
// a reload builds a new one.
type config struct {
	judges map[judgeKey]*judge
	// kinds says which default classifier a plugin unknown to the store
	// gets: none, so the run default.
	fallback *judge
}

// lookup returns the judge for a result of check × plugin.
func (c *config) lookup(check, plugin string) *judge {
	if j, ok := c.judges[judgeKey{check, plugin}]; ok {
		return j
	}
	if j, ok := c.judges[judgeKey{"", plugin}]; ok {
		return j
	}
	return c.fallback
}

// compiler compiles classifiers once per version: a version is the source's
// hash, so a reload that changes nothing compiles nothing, and every check
// sharing a plugin's classifier shares its compiled form (and Lua states).
type compiler struct {
	mu    sync.Mutex
	cache map[[32]byte]*classify.Classifier
	opts  classify.Options
}

func newCompiler(opts classify.Options) *compiler {
	return &compiler{cache: map[[32]byte]*classify.Classifier{}, opts: opts}
}

// compile returns the classifier for source under name; keep marks the
// versions still in use, so the others can be dropped after a reload.
func (c *compiler) compile(name, source string, keep map[[32]byte]bool) (*classify.Classifier, error) {
	sum := sha256.Sum256([]byte(name + "\x00" + source))
	c.mu.Lock()
	defer c.mu.Unlock()
	keep[sum] = true
	if cls, ok := c.cache[sum]; ok {
		return cls, nil
	}
	cls, err := classify.CompileOptions(name, source, c.opts)
	if err != nil {
		return nil, err
	}
	c.cache[sum] = cls
	return cls, nil
}

// prune drops the compiled versions not in keep.
func (c *compiler) prune(keep map[[32]byte]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.cache {
		if !keep[k] {
			delete(c.cache, k)
		}
	}
}

// load compiles the configuration in st. A classifier that does not compile
// (the store refuses those, but one saved before a stricter version of the
// sandbox may) is reported through bad and replaced by a classifier that
// returns unknown, so its results are unknown rather than wrongly ok.
func (c *compiler) load(ctx context.Context, st store.Store, bad func(check, plugin string, err error)) (*config, error) {
	plugins, err := st.Plugins(ctx)
	if err != nil {
		return nil, fmt.Errorf("load plugins: %w", err)
	}
	checks, err := st.Checks(ctx)
	if err != nil {
		return nil, fmt.Errorf("load checks: %w", err)
	}
	keep := map[[32]byte]bool{}
	cfg := &config{judges: map[judgeKey]*judge{}}
	build := func(check string, p store.Plugin, source string, policy state.Policy) {
		name := p.Name
		if source == "" {
			source = classify.DefaultSource(p.Kind)
			name = p.Name + " (default)"
		}
		cls, err := c.compile(name, source, keep)
		if err != nil {
			bad(check, p.Name, err)
			cls, _ = c.compile(p.Name+" (does not compile)", `return "unknown"`, keep)
		}
		n := p.History
		if n <= 0 {
			n = DefaultHistory
		}
		cfg.judges[judgeKey{check, p.Name}] = &judge{cls: cls, n: n, policy: policy}
	}
	byName := make(map[string]store.Plugin, len(plugins))
	for _, p := range plugins {
		byName[p.Name] = p
		build("", p, p.Classifier, state.Policy{})
	}
	for _, ch := range checks {
		policy := state.Policy{
			Attempts:   ch.Attempts,
			FlapWindow: ch.Flapping.Window,
			FlapStart:  ch.Flapping.Start,
			FlapStop:   ch.Flapping.Stop,
		}
		for _, name := range ch.Plugins {
			p, ok := byName[name]
			if !ok {
				continue
			}
			if pin := ch.Versions[name]; pin != "" && pin != p.Version {
				// A pinned version is judged by its own classifier.
				v, err := st.PluginVersion(ctx, name, pin)
				if err != nil {
					bad(ch.Name, name, fmt.Errorf("pinned version %s: %w", pin, err))
				} else {
					p.Kind, p.Classifier, p.History = v.Kind, v.Classifier, v.History
				}
			}
			source := p.Classifier
			if s, ok := ch.Classifiers[name]; ok && s != "" {
				source = s
			}
			build(ch.Name, p, source, policy)
		}
	}
	fallback, _ := c.compile("default", classify.RunDefault, keep)
	cfg.fallback = &judge{cls: fallback, n: DefaultHistory}
	c.prune(keep)
	return cfg, nil
}
