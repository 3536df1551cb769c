package notify

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"testing"
	"time"
)

func decodePNG(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func same(c color.Color, want color.RGBA) bool {
	r, g, b, _ := c.RGBA()
	return uint8(r>>8) == want.R && uint8(g>>8) == want.G && uint8(b>>8) == want.B
}

func TestRenderGraph(t *testing.T) {
	// Values rise from 40 to 99 over the hour; ok, then critical for the
	// last ten minutes.
	g := TestAlert(time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC)).Graph
	b, err := RenderGraph(g, GraphWidth, GraphHeight)
	if err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, b)
	if img.Bounds() != image.Rect(0, 0, GraphWidth, GraphHeight) {
		t.Fatalf("bounds %v", img.Bounds())
	}
	// Top left of the plot: ok's shade (the line runs bottom left to top
	// right). Bottom right: critical's.
	if c := img.At(graphLeft+5, graphTop+5); !same(c, stateShades["ok"]) {
		t.Fatalf("top left is %v, want ok's shade", c)
	}
	if c := img.At(GraphWidth-graphRight-5, GraphHeight-graphBottom-5); !same(c, stateShades["critical"]) {
		t.Fatalf("bottom right is %v, want critical's shade", c)
	}
	// The line starts at the bottom left and ends at the top right.
	column := func(x int) (top, bottom int) {
		top, bottom = -1, -1
		for y := graphTop; y < GraphHeight-graphBottom; y++ {
			if same(img.At(x, y), graphLine) {
				if top < 0 {
					top = y
				}
				bottom = y
			}
		}
		return top, bottom
	}
	lt, _ := column(graphLeft + 1)
	rt, _ := column(GraphWidth - graphRight - 2)
	if lt < 0 || rt < 0 || lt <= rt || lt < GraphHeight/2 || rt > GraphHeight/2 {
		t.Fatalf("line at the left edge y=%d, right edge y=%d: want it rising from the bottom to the top", lt, rt)
	}
	// The labels are drawn: ink left of the plot.
	ink := 0
	for y := 0; y < GraphHeight; y++ {
		for x := 0; x < graphLeft-2; x++ {
			if same(img.At(x, y), graphInk) {
				ink++
			}
		}
	}
	if ink < 50 {
		t.Fatalf("%d ink pixels for the min/max labels", ink)
	}
}

func TestRenderGraphEdges(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	if _, err := RenderGraph(nil, 600, 200); err == nil {
		t.Fatal("nil graph drawn")
	}
	if _, err := RenderGraph(&Graph{Points: []Point{{t0, math.NaN()}, {t0.Add(time.Minute), math.Inf(1)}}}, 600, 200); err == nil {
		t.Fatal("a graph of NaN and Inf drawn")
	}
	// One point, a flat line, a state of no known name, a silly size, a
	// long title: all drawn.
	for _, g := range []*Graph{
		{Points: []Point{{t0, 5}}},
		{Points: []Point{{t0, 5}, {t0.Add(time.Hour), 5}}, States: []StatePoint{{t0, "weird"}}},
		{Title: string(bytes.Repeat([]byte("é"), 500)), Points: []Point{{t0, -1e300}, {t0.Add(48 * time.Hour), 1e300}}},
	} {
		b, err := RenderGraph(g, 1, 1e9)
		if err != nil {
			t.Fatal(err)
		}
		if r := decodePNG(t, b).Bounds(); r.Dx() > 4000 || r.Dy() > 2000 || r.Dx() < 100 {
			t.Fatalf("size %v not clamped", r)
		}
	}
	// Many points are thinned, not refused.
	var pts []Point
	for i := range 100000 {
		pts = append(pts, Point{t0.Add(time.Duration(i) * time.Second), float64(i % 100)})
	}
	if _, err := RenderGraph(&Graph{Points: pts}, 600, 200); err != nil {
		t.Fatal(err)
	}
}
