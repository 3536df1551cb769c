package notify

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"strconv"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Size of the graph in emails: wide enough for an hour at one pixel per
// ten seconds, small enough for a phone.
const (
	GraphWidth  = 600
	GraphHeight = 200
	// maxGraphPoints bounds what RenderGraph draws; more are thinned.
	maxGraphPoints = 10000
)

// Margins of the plot inside the picture, room for the labels
// (basicfont's 7×13 glyphs).
const (
	graphLeft   = 64
	graphRight  = 10
	graphTop    = 18
	graphBottom = 18
)

var (
	graphBackground = color.RGBA{0xff, 0xff, 0xff, 0xff}
	graphInk        = color.RGBA{0x33, 0x33, 0x33, 0xff}
	graphLine       = color.RGBA{0x1f, 0x4e, 0xa8, 0xff}
	graphFrame      = color.RGBA{0xbb, 0xbb, 0xbb, 0xff}
	// stateShades are light backgrounds per state.
	stateShades = map[string]color.RGBA{
		"ok":       {0xe3, 0xf5, 0xe9, 0xff},
		"minor":    {0xfd, 0xf3, 0xd6, 0xff},
		"degraded": {0xfd, 0xf3, 0xd6, 0xff},
		"major":    {0xfd, 0xe4, 0xcc, 0xff},
		"critical": {0xfa, 0xd4, 0xd4, 0xff},
		"failed":   {0xfa, 0xd4, 0xd4, 0xff},
		"unknown":  {0xe8, 0xe8, 0xe8, 0xff},
	}
)

// errEmptyGraph is RenderGraph's answer to a graph with nothing to draw.
var errEmptyGraph = errors.New("graph has no finite values")

// RenderGraph draws g as a PNG of width × height pixels: the background
// shaded by state over time, the values as a line, the minimum and maximum
// on the left, the first and last time below, the title above.
func RenderGraph(g *Graph, width, height int) ([]byte, error) {
	if g == nil {
		return nil, errEmptyGraph
	}
	width = min(max(width, graphLeft+graphRight+50), 4000)
	height = min(max(height, graphTop+graphBottom+30), 2000)
	pts := thin(finitePoints(g.Points), maxGraphPoints)
	if len(pts) == 0 {
		return nil, errEmptyGraph
	}
	t0, t1 := pts[0].T, pts[len(pts)-1].T
	if !t1.After(t0) {
		t0, t1 = t0.Add(-time.Minute), t1.Add(time.Minute)
	}
	lo, hi := pts[0].V, pts[0].V
	for _, p := range pts {
		lo, hi = math.Min(lo, p.V), math.Max(hi, p.V)
	}
	if hi == lo {
		lo, hi = lo-1, hi+1
	}
	pad := (hi - lo) * 0.05
	ylo, yhi := lo-pad, hi+pad

	img := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(img, img.Bounds(), &image.Uniform{graphBackground}, image.Point{}, draw.Src)
	plot := image.Rect(graphLeft, graphTop, width-graphRight, height-graphBottom)
	xOf := func(t time.Time) int {
		f := float64(t.Sub(t0)) / float64(t1.Sub(t0))
		return plot.Min.X + int(math.Round(f*float64(plot.Dx()-1)))
	}
	yOf := func(v float64) int {
		f := (v - ylo) / (yhi - ylo)
		return plot.Max.Y - 1 - int(math.Round(f*float64(plot.Dy()-1)))
	}

	// State bands: each state lasts until the next one begins.
	for i, s := range g.States {
		end := t1
		if i+1 < len(g.States) {
			end = g.States[i+1].T
		}
		if !end.After(t0) || !s.T.Before(t1) {
			continue
		}
		shade, ok := stateShades[s.State]
		if !ok {
			shade = stateShades["unknown"]
		}
		x0, x1 := xOf(maxTime(s.T, t0)), xOf(minTime(end, t1))
		draw.Draw(img, image.Rect(x0, plot.Min.Y, x1+1, plot.Max.Y), &image.Uniform{shade}, image.Point{}, draw.Src)
	}
	frame(img, plot, graphFrame)

	// The line, two pixels thick.
	for i := 1; i < len(pts); i++ {
		x0, y0 := xOf(pts[i-1].T), yOf(pts[i-1].V)
		x1, y1 := xOf(pts[i].T), yOf(pts[i].V)
		line(img, x0, y0, x1, y1, graphLine)
		line(img, x0, y0+1, x1, y1+1, graphLine)
	}
	if len(pts) == 1 {
		x, y := xOf(pts[0].T), yOf(pts[0].V)
		draw.Draw(img, image.Rect(x-2, y-2, x+3, y+3), &image.Uniform{graphLine}, image.Point{}, draw.Src)
	}

	face := basicfont.Face7x13
	text(img, face, 2, graphTop+10, formatValue(hi, g.Unit), graphInk)
	text(img, face, 2, height-graphBottom-2, formatValue(lo, g.Unit), graphInk)
	layout := "15:04"
	if t1.Sub(t0) > 24*time.Hour {
		layout = "Jan 2 15:04"
	}
	first := t0.UTC().Format(layout)
	last := t1.UTC().Format(layout) + " UTC"
	text(img, face, plot.Min.X, height-4, first, graphInk)
	text(img, face, plot.Max.X-7*len(last), height-4, last, graphInk)
	title := g.Title
	if maxRunes := (width - 4) / 7; len([]rune(title)) > maxRunes {
		title = string([]rune(title)[:maxRunes-1]) + "…"
	}
	text(img, face, 2, 13, title, graphInk)

	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// formatValue writes a value in four significant digits with its unit.
func formatValue(v float64, unit string) string {
	s := strconv.FormatFloat(v, 'g', 4, 64)
	if unit != "" {
		s += " " + unit
	}
	return s
}

func finitePoints(in []Point) []Point {
	out := make([]Point, 0, len(in))
	for _, p := range in {
		if !math.IsNaN(p.V) && !math.IsInf(p.V, 0) && !p.T.IsZero() {
			out = append(out, p)
		}
	}
	return out
}

// thin keeps every k-th point so at most n remain (and the last).
func thin(pts []Point, n int) []Point {
	if len(pts) <= n {
		return pts
	}
	k := (len(pts) + n - 1) / n
	out := make([]Point, 0, n+1)
	for i := 0; i < len(pts); i += k {
		out = append(out, pts[i])
	}
	if last := pts[len(pts)-1]; out[len(out)-1] != last {
		out = append(out, last)
	}
	return out
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// frame draws r's outline.
func frame(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	for x := r.Min.X; x < r.Max.X; x++ {
		img.SetRGBA(x, r.Min.Y, c)
		img.SetRGBA(x, r.Max.Y-1, c)
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		img.SetRGBA(r.Min.X, y, c)
		img.SetRGBA(r.Max.X-1, y, c)
	}
}

// line draws from (x0, y0) to (x1, y1) with Bresenham's algorithm.
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := 1, 1
	if x0 > x1 {
		sx = -1
	}
	if y0 > y1 {
		sy = -1
	}
	e := dx + dy
	for {
		img.SetRGBA(x0, y0, c) // SetRGBA ignores points outside the image
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// text draws s with its baseline at (x, y).
func text(img *image.RGBA, face font.Face, x, y int, s string, c color.RGBA) {
	d := font.Drawer{Dst: img, Src: &image.Uniform{c}, Face: face, Dot: fixed.P(x, y)}
	d.DrawString(s)
}
