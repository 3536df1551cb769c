package store

import (
	"context"
	"slices"
	"testing"
)

func TestGroupCRUDAndTransitiveHosts(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	for _, h := range []string{"a1", "a2", "b1", "c1"} {
		must[Host](t)(st.CreateHost(ctx, Host{Name: h}))
	}
	must[Group](t)(st.CreateGroup(ctx, Group{Name: "c", Hosts: []string{"c1", "a1"}}))
	must[Group](t)(st.CreateGroup(ctx, Group{Name: "b", Hosts: []string{"b1"}, Groups: []string{"c"}}))
	must[Group](t)(st.CreateGroup(ctx, Group{Name: "a", Hosts: []string{"a2", "a1"}, Groups: []string{"b"}}))
	must[Group](t)(st.CreateGroup(ctx, Group{Name: "empty"}))

	g, err := st.Group(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(g.Hosts, []string{"a1", "a2"}) || !slices.Equal(g.Groups, []string{"b"}) {
		t.Fatalf("group a = %+v (lists must come back sorted)", g)
	}
	f := func(group string, want ...string) {
		t.Helper()
		got, err := st.GroupHosts(ctx, group)
		if err != nil {
			t.Fatal(err)
		}
		if want == nil {
			want = []string{}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("GroupHosts(%s) = %v, want %v", group, got, want)
		}
	}
	f("a", "a1", "a2", "b1", "c1") // a1 is in a and in c: listed once
	f("b", "a1", "b1", "c1")
	f("c", "a1", "c1")
	f("empty")
	_, err = st.GroupHosts(ctx, "nope")
	wantErr(t, err, ErrNotFound, `group "nope" not found`)

	// Update replaces the member lists.
	if _, err := st.UpdateGroup(ctx, "b", Group{Hosts: []string{"b1"}}); err != nil {
		t.Fatal(err)
	}
	f("a", "a1", "a2", "b1")
	// A rename keeps the nesting (members are stored by id).
	if _, err := st.UpdateGroup(ctx, "b", Group{Name: "bee", Hosts: []string{"b1"}, Groups: []string{"c"}}); err != nil {
		t.Fatal(err)
	}
	g, _ = st.Group(ctx, "a")
	if !slices.Equal(g.Groups, []string{"bee"}) {
		t.Fatalf("after rename a.groups = %v", g.Groups)
	}
	f("a", "a1", "a2", "b1", "c1")

	groups, err := st.Groups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range groups {
		names = append(names, g.Name)
	}
	if !slices.Equal(names, []string{"a", "bee", "c", "empty"}) {
		t.Fatalf("groups = %v", names)
	}
}

func TestGroupCyclesRejected(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	must[Group](t)(st.CreateGroup(ctx, Group{Name: "a"}))
	must[Group](t)(st.CreateGroup(ctx, Group{Name: "b", Groups: []string{"a"}}))
	must[Group](t)(st.CreateGroup(ctx, Group{Name: "c", Groups: []string{"b"}}))

	_, err := st.UpdateGroup(ctx, "a", Group{Groups: []string{"c"}})
	wantErr(t, err, ErrConflict, "group nesting cycle: a -> c -> b -> a")
	_, err = st.UpdateGroup(ctx, "a", Group{Groups: []string{"a"}})
	wantErr(t, err, ErrConflict, "group nesting cycle: a -> a")
	_, err = st.CreateGroup(ctx, Group{Name: "d", Groups: []string{"d"}})
	wantErr(t, err, ErrConflict, "cycle: d -> d")
	// A rename that would close a cycle through the new name is caught too.
	_, err = st.UpdateGroup(ctx, "a", Group{Name: "a2", Groups: []string{"c"}})
	wantErr(t, err, ErrConflict, "cycle: a2 -> c -> b -> a2")

	// Nothing changed.
	a, _ := st.Group(ctx, "a")
	if len(a.Groups) != 0 {
		t.Fatalf("a changed: %+v", a)
	}
	// A diamond is not a cycle.
	must[Group](t)(st.CreateGroup(ctx, Group{Name: "d", Groups: []string{"b", "c"}}))
}

func TestGroupValidation(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	must[Host](t)(st.CreateHost(ctx, Host{Name: "h1"}))
	f := func(g Group, kind error, parts ...string) {
		t.Helper()
		_, err := st.CreateGroup(ctx, g)
		wantErr(t, err, kind, parts...)
	}
	f(Group{Name: "g", Hosts: []string{"h1", "h9"}}, ErrInvalid, `group "g": unknown host "h9"`)
	f(Group{Name: "g", Groups: []string{"nope"}}, ErrInvalid, `group "g": unknown group "nope"`)
	f(Group{Name: "g", Hosts: []string{"h1", "h1"}}, ErrInvalid, `hosts lists "h1" twice`)
	f(Group{Name: "g", Hosts: []string{"bad name"}}, ErrInvalid, `"bad name" is not a valid name`)
	f(Group{Name: "g g"}, ErrInvalid, "name must match")
	if gs, _ := st.Groups(ctx); len(gs) != 0 {
		t.Fatalf("invalid groups stored: %+v", gs)
	}
}

func TestGraph(t *testing.T) {
	g := graph{"a": {"b"}, "b": {"c"}, "c": nil, "d": {"a", "c"}}
	if c := g.findCycle(); c != nil {
		t.Fatalf("acyclic graph has cycle %v", c)
	}
	if got := g.topoOrder(); !slices.Equal(got, []string{"c", "b", "a", "d"}) {
		t.Fatalf("topoOrder = %v", got)
	}
	g["c"] = []string{"d"}
	if c := g.findCycle(); !slices.Equal(c, []string{"a", "b", "c", "d", "a"}) {
		t.Fatalf("cycle = %v", c)
	}
	h := graph{"x": {"y"}, "y": nil}.withNode("y", "z", []string{"x"})
	if !slices.Equal(h["x"], []string{"z"}) || h.findCycle() == nil {
		t.Fatalf("withNode = %v", h)
	}
}
