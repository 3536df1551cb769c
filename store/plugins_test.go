package store

import (
	"context"
	"strings"
	"testing"
)

func TestPluginPackage(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	must[Plugin](t)(st.CreatePlugin(ctx, Plugin{Name: "hello", Kind: "exec", Entrypoint: "run.sh"}))
	sha := strings.Repeat("ab", 32)
	changed := st.ConfigChanged()
	p := must[Plugin](t)(st.SetPluginPackage(ctx, "hello", sha))
	if p.SHA256 != sha {
		t.Fatalf("set package: %+v", p)
	}
	select {
	case <-changed:
	default:
		t.Error("a new package did not wake ConfigChanged's watchers")
	}
	// Editing the plugin keeps its package, whatever the request says.
	up := must[Plugin](t)(st.UpdatePlugin(ctx, "hello", Plugin{Kind: "exec", Entrypoint: "run.sh", Version: "2", SHA256: strings.Repeat("0", 64)}))
	if up.SHA256 != sha || up.Version != "2" {
		t.Fatalf("update changed the package: %+v", up)
	}
	if got := must[Plugin](t)(st.Plugin(ctx, "hello")); got.SHA256 != sha {
		t.Fatalf("get: %+v", got)
	}
	_, err := st.SetPluginPackage(ctx, "hello", "../../etc/passwd")
	wantErr(t, err, ErrInvalid, "not 64 lowercase hex digits")
	_, err = st.SetPluginPackage(ctx, "hello", strings.ToUpper(sha))
	wantErr(t, err, ErrInvalid)
	_, err = st.SetPluginPackage(ctx, "nope", sha)
	wantErr(t, err, ErrNotFound, `plugin "nope" not found`)
	if p := must[Plugin](t)(st.SetPluginPackage(ctx, "hello", "")); p.SHA256 != "" {
		t.Fatalf("cleared: %+v", p)
	}
}
