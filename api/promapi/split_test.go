package promapi

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"
)

// A split range query returns exactly what the engine returns for the
// whole range: same series, same points, same float bits.
func TestSplitRangeQueryMatchesEngine(t *testing.T) {
	db := openDB(t)
	fillDB(t, db)
	a := &api{queryable: db, engine: db.Engine(), parser: db.Parser(), spare: newSpareCores(3)}
	ctx := context.Background()
	start, end := base.Add(-10*time.Minute), base.Add(70*time.Minute)
	for _, q := range []string{
		`prophasis_value`,
		`rate(prophasis_value[5m])`,
		`sum by (plugin) (rate(prophasis_value[5m]))`,
		`max_over_time(prophasis_value[10m:1m])`,
		`prophasis_state > 0`,
		`histogram_quantile(0.9, rate(prophasis_rpc_duration_seconds[5m]))`,
		`prophasis_rpc_duration_seconds`,
		`timestamp(prophasis_value{host="web1"})`,
		// A series that exists only in some parts.
		`prophasis_value{host="web2"} and on() (vector(time()) > ` + fmt.Sprint(base.Add(40*time.Minute).Unix()) + `)`,
	} {
		for _, step := range []time.Duration{5 * time.Second, 15 * time.Second, 17 * time.Second} {
			whole, err := db.Engine().NewRangeQuery(ctx, db, nil, q, start, end, step)
			if err != nil {
				t.Fatal(err)
			}
			want := whole.Exec(ctx)
			split, err := a.newRangeQuery(ctx, nil, q, start, end, step, true)
			if err != nil {
				t.Fatal(err)
			}
			sq, ok := split.(*splitQuery)
			if !ok || len(sq.parts) < 2 {
				t.Fatalf("%s step %s: not split (%T)", q, step, split)
			}
			got := sq.Exec(ctx)
			if want.Err != nil || got.Err != nil {
				t.Fatalf("%s: errors %v, %v", q, want.Err, got.Err)
			}
			if !reflect.DeepEqual(got.Value.(promql.Matrix), want.Value.(promql.Matrix)) {
				t.Fatalf("%s step %s: split result differs\n got %v\nwant %v", q, step, got.Value, want.Value)
			}
			split.Close()
			whole.Close()
			if n := len(a.spare); n != 3 {
				t.Fatalf("%s: %d spare cores after Close, want all 3 back", q, n)
			}
		}
	}
}

func TestRangeQueryNotSplit(t *testing.T) {
	db := openDB(t)
	fillDB(t, db)
	ctx := context.Background()
	start, end := base, base.Add(time.Hour)
	f := func(a *api, q string, step time.Duration, mayBorrow bool) {
		t.Helper()
		qry, err := a.newRangeQuery(ctx, nil, q, start, end, step, mayBorrow)
		if err != nil {
			t.Fatal(err)
		}
		defer qry.Close()
		if _, split := qry.(*splitQuery); split {
			t.Fatalf("%s step %s: split, want whole", q, step)
		}
	}
	a := &api{queryable: db, engine: db.Engine(), parser: db.Parser(), spare: newSpareCores(1)}
	f(a, `prophasis_value`, time.Minute, true)                       // 61 steps: too few
	f(a, `prophasis_value @ end()`, 5*time.Second, true)             // @ end() means each part's end
	f(a, `rate(prophasis_value[5m] @ start())`, 5*time.Second, true) // likewise
	f(a, `max_over_time(prophasis_value[5m:1m] @ end())`, time.Second, true)
	f(a, `prophasis_value`, 5*time.Second, false) // stats requested
	busy := &api{queryable: db, engine: db.Engine(), parser: db.Parser(), spare: newSpareCores(0)}
	f(busy, `prophasis_value`, 5*time.Second, true) // no free core
	// A borrowed core is unavailable to the next query until returned.
	q1, err := a.newRangeQuery(ctx, nil, `prophasis_value`, start, end, 5*time.Second, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, split := q1.(*splitQuery); !split {
		t.Fatal("first query not split with a free core")
	}
	f(a, `prophasis_value`, 5*time.Second, true)
	q1.Exec(ctx)
	q1.Close()
	if len(a.spare) != 1 {
		t.Fatalf("%d spare cores after the query, want 1", len(a.spare))
	}
}
