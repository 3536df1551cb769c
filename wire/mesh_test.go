package wire

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestDecodeMeshView(t *testing.T) {
	f := func(in, wantErr string) {
		t.Helper()
		v, err := DecodeMeshView(strings.NewReader(in))
		if wantErr == "" {
			if err != nil {
				t.Fatalf("%s: %v", in, err)
			}
			if v.Host == "" {
				t.Fatalf("%s: no host decoded", in)
			}
			return
		}
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("%s: error %v, want one containing %q", in, err, wantErr)
		}
	}
	f(`{"host":"web1","addr":"127.0.0.2:7946","interval":1000,"peers":[{"host":"web2","alive":true,"last_seen":1700000000000}]}`, "")
	f(`{"host":"web1","interval":1000,"peers":[]}`, "")
	f(`{"host":"web1","interval":1000,"peers":[],"extra":1}`, `unknown field "extra"`)
	f(`{"host":"web1","interval":1000,"peers":[]} {}`, "trailing data")
	f(`{"host":"a b","interval":1000,"peers":[]}`, `host "a b" is not a host name`)
	f(`{"host":"web1","interval":1,"peers":[]}`, "interval 1ms is outside")
	f(`{"host":"web1","interval":999999999999,"peers":[]}`, "is outside")
	f(`{"host":"web1","addr":"nowhere","interval":1000,"peers":[]}`, `addr "nowhere"`)
	f(`{"host":"web1","addr":"0.0.0.0:7946","interval":1000,"peers":[]}`, `addr "0.0.0.0:7946"`)
	f(`{"host":"web1","interval":1000,"peers":[{"host":"web2"},{"host":"web2"}]}`, `"web2" is listed twice`)
	f(`{"host":"web1","interval":1000,"peers":[{"host":"web1"}]}`, "not its own peer")
	f(`{"host":"web1","interval":1000,"peers":[{"host":"<b>"}]}`, "peers[0]")
	f(`{"host":"web1","interval":1000,"peers":[{"host":"web2","last_seen":-5}]}`, "negative")
	f(`[`, "decode mesh view")
	f(`{"host":"web1","interval":1000,"peers":[`+strings.Repeat(`"`, MaxMeshViewBytes)+`]}`, "over 1048576 bytes")
	var many bytes.Buffer
	many.WriteString(`{"host":"web1","interval":1000,"peers":[`)
	for i := range MaxMeshPeers + 1 {
		if i > 0 {
			many.WriteByte(',')
		}
		many.WriteString(`{"host":"h` + strings.Repeat("x", 0) + itoa(i) + `"}`)
	}
	many.WriteString(`]}`)
	f(many.String(), "10001 peers; the limit is 10000")
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// FuzzDecodeMeshView: whatever DecodeMeshView accepts is valid, and
// survives a round trip through encoding/json unchanged.
func FuzzDecodeMeshView(f *testing.F) {
	f.Add([]byte(`{"host":"web1","addr":"127.0.0.2:7946","interval":1000,"peers":[{"host":"web2","alive":true,"last_seen":1}]}`))
	f.Add([]byte(`{"host":"web1","interval":1000,"peers":[{"host":"web2"},{"host":"web2"}]}`))
	f.Add([]byte(`{"host":"web1","addr":"[::1]:1","interval":100,"peers":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := DecodeMeshView(bytes.NewReader(data))
		if err != nil {
			return
		}
		if err := v.Validate(); err != nil {
			t.Fatalf("accepted an invalid view: %v", err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		v2, err := DecodeMeshView(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("re-encoded view refused: %v\n%s", err, b)
		}
		b2, _ := json.Marshal(v2)
		if !bytes.Equal(b, b2) {
			t.Fatalf("round trip changed the view:\n%s\n%s", b, b2)
		}
	})
}
