package rules

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCheckPluginParams(t *testing.T) {
	m := json.RawMessage(`{"name":"http","version":"1.0.0","description":"d","kind":"exec","entrypoint":"bin/http.sh",
		"parameters":[{"name":"url","type":"string","required":true},{"name":"timeout","type":"duration","default":"10s"},
		{"name":"status","type":"int","default":200}]}`)
	f := func(params map[string]string, want string) {
		t.Helper()
		err := CodeChecker{}.CheckPluginParams(m, params)
		if want == "" {
			if err != nil {
				t.Errorf("%v: %v", params, err)
			}
			return
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: got %v, want %q", params, err, want)
		}
	}
	f(map[string]string{"url": "https://example.com"}, "")
	f(map[string]string{"url": "x", "timeout": "2d", "status": "301"}, "")
	f(nil, "parameter url is required")
	f(map[string]string{"url": "x", "status": "ok"}, `parameter status: "ok" is not an integer`)
	f(map[string]string{"url": "x", "timeout": "soon"}, "parameter timeout")
	f(map[string]string{"url": "x", "port": "80"}, "unknown parameter port: plugin http has url, timeout, status")
	if err := (CodeChecker{}).CheckPluginParams(json.RawMessage(`{`), nil); err == nil {
		t.Error("a broken manifest passed")
	}
}
