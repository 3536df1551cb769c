package store

import (
	"slices"
	"strings"
)

// graph is a directed graph by name: node -> the nodes it contains (a group's
// member groups, a service's member services). Both nestings must stay
// acyclic: a group containing itself has no finite set of hosts, a service
// depending on itself has no state.
type graph map[string][]string

// findCycle returns a cycle as a path whose first and last node are the same
// (a -> b -> a), or nil. Nodes are visited in sorted order so the answer is
// deterministic.
func (g graph) findCycle() []string {
	const (
		unseen = iota
		onPath
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(n string) []string
	visit = func(n string) []string {
		switch state[n] {
		case onPath:
			i := slices.Index(path, n)
			return append(slices.Clone(path[i:]), n)
		case done:
			return nil
		}
		state[n] = onPath
		path = append(path, n)
		for _, m := range g[n] {
			if c := visit(m); c != nil {
				return c
			}
		}
		path = path[:len(path)-1]
		state[n] = done
		return nil
	}
	for _, n := range sortedKeys(g) {
		if c := visit(n); c != nil {
			return c
		}
	}
	return nil
}

// cycleError reports a cycle as ErrConflict, naming it.
func cycleError(what string, cycle []string) error {
	return conflictf("%s cycle: %s", what, strings.Join(cycle, " -> "))
}

// topoOrder returns the nodes so that every node comes after the nodes it
// contains (members first). The graph must be acyclic; ties are broken by
// name.
func (g graph) topoOrder() []string {
	seen := map[string]bool{}
	var out []string
	var visit func(n string)
	visit = func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		members := slices.Clone(g[n])
		slices.Sort(members)
		for _, m := range members {
			visit(m)
		}
		out = append(out, n)
	}
	for _, n := range sortedKeys(g) {
		visit(n)
	}
	return out
}

// withNode returns a copy of g where node old (if any) is replaced by node
// name with the given edges; edges of other nodes that pointed at old point
// at name. It is the graph after a single update or rename.
func (g graph) withNode(old, name string, edges []string) graph {
	out := make(graph, len(g)+1)
	for n, es := range g {
		if n == old {
			continue
		}
		es2 := make([]string, len(es))
		for i, e := range es {
			if e == old && old != "" {
				e = name
			}
			es2[i] = e
		}
		out[n] = es2
	}
	out[name] = edges
	return out
}
