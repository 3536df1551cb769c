package notify

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/prophasis/prophasis/store"
)

// FuzzNew: any settings a client sends give a notifier or an error, never
// a panic, and the error never quotes the secret.
func FuzzNew(f *testing.F) {
	f.Add(0, `{"host":"smtp.example.org","from":"a@example.org","to":["b@example.org"],"username":"u"}`, "pw")
	f.Add(1, `{"url":"https://x.example.org/hook"}`, "k")
	f.Add(2, `{}`, "https://hooks.slack.com/services/T/B/X")
	f.Add(3, `{"path":"/bin/true","args":["a"]}`, "")
	f.Add(4, `{"urls":["http://127.0.0.1:9093"]}`, "tok")
	f.Add(1, `{"url":"https://x/","headers":{"A":"b"}}`, "\r\n")
	f.Add(0, `[`, "x")
	kinds := []string{"email", "webhook", "slack", "command", "alertmanager"}
	secretKey := map[string]string{"email": "password", "webhook": "secret", "slack": "url", "command": "", "alertmanager": "bearer_token"}
	f.Fuzz(func(t *testing.T, k int, config, secret string) {
		kind := kinds[uint(k)%uint(len(kinds))]
		const marker = "S3CR3T-"
		if strings.Contains(config, marker) {
			return
		}
		raw := json.RawMessage(config)
		var obj map[string]any
		if key := secretKey[kind]; key != "" && json.Unmarshal(raw, &obj) == nil && obj != nil {
			obj[key] = marker + secret
			raw, _ = json.Marshal(obj)
		}
		n, err := New(store.AlertModule{Name: "m", Kind: kind, Config: raw})
		if err != nil {
			if strings.Contains(err.Error(), marker) {
				t.Fatalf("error quotes the secret: %v", err)
			}
			return
		}
		if n == nil {
			t.Fatal("no notifier and no error")
		}
		if p, ok := n.(Payloader); ok {
			b, err := p.Payload(testAlert())
			if err != nil || strings.Contains(string(b), marker) {
				t.Fatalf("payload %q: %v", b, err)
			}
		}
	})
}
