package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMeshSettings(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t)
	m, err := st.MeshSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.Enabled || m.Port != 7946 || len(m.Keys) != 0 || m.UpdatedAt != 0 {
		t.Fatalf("default settings %+v", m)
	}

	// Enabling without a key makes one.
	changed := st.ConfigChanged()
	m.Enabled, m.Cluster, m.Allow, m.Down = true, "lab", "127.0.0.0/8 192.168.0.100-199", Duration(5*time.Second)
	got, err := st.SetMeshSettings(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	default:
		t.Error("setting the mesh did not wake ConfigChanged (the agents' plans)")
	}
	if len(got.Keys) != 1 {
		t.Fatalf("keys %v, want one made", got.Keys)
	}
	if b, err := base64.StdEncoding.DecodeString(got.Keys[0]); err != nil || len(b) != 32 {
		t.Fatalf("made key %q: %d bytes, %v", got.Keys[0], len(b), err)
	}
	again, err := st.MeshSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Enabled || again.Cluster != "lab" || again.Allow != m.Allow || again.Down != Duration(5*time.Second) ||
		!slices.Equal(again.Keys, got.Keys) || again.UpdatedAt == 0 {
		t.Fatalf("read back %+v, want %+v", again, got)
	}

	// The redacted form hides the keys; writing it back keeps them, and a
	// second key can be added for rotation.
	red := again.Redacted()
	if !slices.Equal(red.Keys, []string{SecretPlaceholder}) {
		t.Fatalf("redacted keys %v", red.Keys)
	}
	if s := fmt.Sprint(slog.AnyValue(again).Resolve()); strings.Contains(s, again.Keys[0]) {
		t.Fatalf("log value shows the key: %s", s)
	}
	second := NewMeshKey()
	red.Keys = append(red.Keys, second)
	kept, err := st.SetMeshSettings(ctx, red)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(kept.Keys, []string{got.Keys[0], second}) {
		t.Fatalf("keys %v, want the stored one kept and %s added", kept.Keys, second)
	}
	// <secret:N> names a stored key by position, so a client that never
	// sees them can reorder them: the rotation's "make the new key first".
	swapped, err := st.SetMeshSettings(ctx, MeshSettings{Enabled: true, Cluster: "lab", Port: 7946, Allow: m.Allow,
		Interval: m.Interval, Down: m.Down, Remove: m.Remove, Keys: []string{"<secret:1>", "<secret:0>"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(swapped.Keys, []string{second, got.Keys[0]}) {
		t.Fatalf("keys after <secret:1>, <secret:0>: %v", swapped.Keys)
	}
	if kept, err = st.SetMeshSettings(ctx, MeshSettings{Enabled: true, Cluster: "lab", Port: 7946, Allow: m.Allow,
		Interval: m.Interval, Down: m.Down, Remove: m.Remove, Keys: []string{"<secret:1>", "<secret:0>"}}); err != nil {
		t.Fatal(err)
	}

	// Bad input: a clear error, nothing changed.
	f := func(edit func(*MeshSettings), want string) {
		t.Helper()
		bad := kept
		bad.Keys = slices.Clone(kept.Keys)
		edit(&bad)
		_, err := st.SetMeshSettings(ctx, bad)
		wantErr(t, err, ErrInvalid, want)
		now, err := st.MeshSettings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(now.Keys, kept.Keys) || now.Cluster != kept.Cluster || now.Allow != kept.Allow || now.Port != kept.Port {
			t.Fatalf("a refused update changed the settings: %+v", now)
		}
	}
	f(func(m *MeshSettings) { m.Cluster = "" }, "cluster is required")
	f(func(m *MeshSettings) { m.Cluster = "a b" }, `cluster "a b" must match`)
	f(func(m *MeshSettings) { m.Port = 70000 }, "port 70000")
	f(func(m *MeshSettings) { m.Port = 80 }, "port 80 is not 1024-65535 (agents bind it unprivileged)")
	f(func(m *MeshSettings) { m.StatusListen = ":443" }, `status_listen ":443": the port must be 1024-65535`)
	f(func(m *MeshSettings) { m.Keys = []string{"<secret:5>"} }, "keys[0] is <secret:5> but there is no stored key 5")
	f(func(m *MeshSettings) { m.Keys = []string{"<secret:x>"} }, "keys[0] is <secret:x>: a stored key is named <secret> or <secret:N>")
	f(func(m *MeshSettings) { m.Keys = []string{"not base64!"} }, "keys[0] is not base64")
	f(func(m *MeshSettings) { m.Keys = []string{base64.StdEncoding.EncodeToString([]byte("short"))} }, "keys[0] is 5 bytes")
	f(func(m *MeshSettings) { m.Keys = []string{SecretPlaceholder, SecretPlaceholder, SecretPlaceholder} }, "no stored key 2")
	f(func(m *MeshSettings) { m.Allow = "" }, "allow is required")
	f(func(m *MeshSettings) { m.Allow = "192.168.0.300" }, `"192.168.0.300" is not an address`)
	f(func(m *MeshSettings) { m.StatusAllow = "everyone" }, `status_allow: "everyone"`)
	f(func(m *MeshSettings) { m.StatusListen = "8080" }, `status_listen "8080"`)
	f(func(m *MeshSettings) { m.Interval = Duration(time.Millisecond) }, "interval 1ms")
	f(func(m *MeshSettings) { m.Remove = Duration(time.Second) }, "remove 1s is shorter than down 5s")

	// Turning it off keeps the keys for next time.
	kept.Enabled = false
	off, err := st.SetMeshSettings(ctx, kept)
	if err != nil {
		t.Fatal(err)
	}
	if off.Enabled || len(off.Keys) != 2 {
		t.Fatalf("off: %+v", off)
	}
}

func TestValidRange(t *testing.T) {
	for _, ok := range []string{"192.168.0.7", "::1", "192.168.0.100-199", "192.168.0.100-192.168.0.199", "192.168.0.", "192.168.", "10.", "10.1.0.0/24", "fd00::/8"} {
		if !validRange(ok) {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"", "x", "192.168.0.300", "192.168.0.199-100", "1.2.3.4.", "10.0.0.9-10.0.0.1", "::1-5", "1.2.3.4/40"} {
		if validRange(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestMeshInDocuments: a document's mesh section sets the settings (a
// key made on the server, never exported); absent leaves them; bad input
// changes nothing.
func TestMeshInDocuments(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t)
	apply := func(y string, dry bool) (Diff, error) {
		t.Helper()
		doc, err := ParseDocumentYAML([]byte(y))
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		return st.Apply(ctx, doc, dry)
	}
	const y = "hosts: [{name: web1}]\nmesh: {enabled: true, cluster: lab, allow: 10.0.0.0/8, down: 10s}\n"
	d, err := apply(y, true)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := st.MeshSettings(ctx); m.Enabled || len(d.Changes) != 2 || d.Changes[0].Kind != "mesh" {
		t.Fatalf("dry run: %+v changes %v", m, d.Changes)
	}
	if _, err := apply(y, false); err != nil {
		t.Fatal(err)
	}
	m, err := st.MeshSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Enabled || m.Cluster != "lab" || m.Down != Duration(10*time.Second) || m.Interval != Duration(time.Minute) || len(m.Keys) != 1 {
		t.Fatalf("applied: %+v", m)
	}
	// Applying it again changes nothing, the key included.
	if d, err := apply(y, false); err != nil || !d.Empty() {
		t.Fatalf("again: %v %v", d.Changes, err)
	}
	if again, _ := st.MeshSettings(ctx); again.Keys[0] != m.Keys[0] {
		t.Fatal("re-applying the document changed the key")
	}
	doc, err := st.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out, err := doc.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if doc.Mesh == nil || !strings.Contains(string(out), "cluster: lab") || strings.Contains(string(out), m.Keys[0]) {
		t.Fatalf("export:\n%s", out)
	}
	js, _ := json.Marshal(doc)
	if strings.Contains(string(js), m.Keys[0]) || strings.Contains(string(js), `"keys"`) {
		t.Fatalf("JSON export has keys: %s", js)
	}
	// A document without a mesh section leaves it.
	if _, err := apply("hosts: [{name: web1}]\n", false); err != nil {
		t.Fatal(err)
	}
	if again, _ := st.MeshSettings(ctx); !again.Enabled {
		t.Fatal("a document without mesh changed the mesh")
	}
	// Bad input: nothing changed, hosts included.
	_, err = apply("hosts: [{name: web1}, {name: web2}]\nmesh: {enabled: true, cluster: lab, allow: 'nowhere'}\n", false)
	wantErr(t, err, ErrInvalid, `allow: "nowhere"`)
	if hs, _ := st.Hosts(ctx); len(hs) != 1 {
		t.Fatalf("a refused document changed the hosts: %v", hs)
	}
}
