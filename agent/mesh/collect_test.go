package mesh

import (
	"context"
	"reflect"
	"runtime"
	"testing"

	"github.com/prophasis/prophasis/agent/collect"
	"github.com/prophasis/prophasis/wire"
)

func TestParseTopProcesses(t *testing.T) {
	got := parseTopProcesses("212 processes (2 running, 0 blocked, 0 zombie); top cpu: postgres 12.5%, my prog 1.0%; top memory: postgres 1.5 GiB, java 300.0 MiB, my prog 512 B")
	want := []Process{{Name: "postgres", CPU: 12.5, RSS: 1610612736}, {Name: "my prog", CPU: 1, RSS: 512}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := parseTopProcesses("3 processes (1 running, 0 blocked, 0 zombie)"); got != nil {
		t.Errorf("no top list: %+v", got)
	}
}

func TestCollectStatusRealHost(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("collectors read /proc")
	}
	var checks CheckStates
	checks.SetResult(wire.Result{Check: "web", Plugin: "http", ExitStatus: 2})
	checks.Set("disk", 7)
	s := CollectStatus(collect.NewRegistry(collect.Options{}), &checks)(context.Background())
	if s.MemTotal == 0 || s.MemUsed == 0 || s.Uptime <= 0 {
		t.Errorf("status of this host lacks memory or uptime: %+v", s)
	}
	n := s.normalize()
	if len(n.Checks) != 2 || n.Checks[0] != (Check{"web/http", StateCritical}) || n.Checks[1] != (Check{"disk", StateUnknown}) {
		t.Errorf("checks %+v", n.Checks)
	}
	if _, err := s.Encode(gossipStatusLimit); err != nil {
		t.Error(err)
	}
}
