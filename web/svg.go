package web

// This file: the report's charts, drawn on the server as SVG. Go computes
// the geometry; the "chart" template of templates/report.html writes the
// elements, so every label is escaped by html/template. The charts are
// readable without colour: every bar carries its number in text, and each
// kind of bar has its own pattern (solid, hatched, dotted, crossed, lined)
// besides its colour. No style attributes (the console's CSP): SVG
// presentation attributes only.

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Chart geometry, in SVG user units.
const (
	chartWidth  = 560 // narrow enough to stay legible on a phone
	labelRight  = 124 // labels end here (text-anchor end)
	barLeft     = 130 // bars start here
	barMax      = 250 // the longest bar
	rowHeight   = 30
	barHeight   = 20
	chartTop    = 8
	legendRow   = 28
	legendWidth = 130
	maxLabel    = 18 // characters of a row's label (the row's title has it whole)
)

// fill is how a kind of bar is painted: a pattern with a background and
// foreground colour.
type fill struct {
	Name    string // pattern name, unique in a chart
	Kind    string // solid, hatch, dots, cross, lines
	BG, FG  string
	Caption string // for the legend
}

// fills are the bar kinds the charts use.
var fills = map[string]fill{
	BucketResolved:    {Name: "resolved", Kind: "solid", BG: "#1a7f37", FG: "#1a7f37", Caption: "resolved"},
	BucketRefused:     {Name: "refused", Kind: "hatch", BG: "#ffebe9", FG: "#cf222e", Caption: "refused"},
	BucketPending:     {Name: "pending", Kind: "dots", BG: "#fff8c5", FG: "#9a6700", Caption: "pending"},
	BucketNotApproved: {Name: "notapproved", Kind: "cross", BG: "#fbefff", FG: "#8250df", Caption: "not approved"},
	BucketEscalated:   {Name: "escalated", Kind: "lines", BG: "#ddf4ff", FG: "#0969da", Caption: "escalated"},
	BucketOther:       {Name: "other", Kind: "solid", BG: "#afb8c1", FG: "#afb8c1", Caption: "other"},
	"open":            {Name: "open", Kind: "hatch", BG: "#f6f8fa", FG: "#57606a", Caption: "not resolved"},
}

// Chart is one horizontal bar chart, ready for the "chart" template.
type Chart struct {
	ID     string // unique in the page: prefixes the ids of its title and patterns
	Title  string
	Desc   string // every bar's figure, in words
	Width  int
	Height int
	Fills  []fill
	Rows   []ChartRow
	Legend []LegendItem
}

// ChartRow is one bar: a label, its segments, and its figure in text.
type ChartRow struct {
	Label  string
	Y      int // top of the bar
	TextY  int // baseline of its texts
	LabelX int
	Segs   []Seg
	Text   string // the figure, written after the bar
	TextX  int
	Tip    string // the row's title (a tooltip)
}

// Seg is one segment of a bar.
type Seg struct {
	X, Y, W int
	Fill    string // the fill's pattern name
}

// LegendItem is one swatch of the legend.
type LegendItem struct {
	X, Y  int
	TextX int
	TextY int
	Fill  string
	Label string
}

// bar is one row before layout: its label, its segments (bucket or "open",
// value) and its figure.
type bar struct {
	label string
	segs  []segValue
	text  string
}

type segValue struct {
	fill  string
	value int
}

// layout lays out bars as a chart. Bars are scaled to the largest total.
func layout(id, title string, bars []bar, legend []string) Chart {
	c := Chart{ID: id, Title: title, Width: chartWidth}
	top := 0
	for _, b := range bars {
		t := 0
		for _, s := range b.segs {
			t += s.value
		}
		top = max(top, t)
	}
	used := map[string]bool{}
	var desc []string
	for i, b := range bars {
		y := chartTop + i*rowHeight
		label := clipLabel(b.label)
		row := ChartRow{Label: label, Y: y, TextY: y + barHeight/2 + 5, LabelX: labelRight, Text: b.text, Tip: b.label + ": " + b.text}
		x := barLeft
		for _, s := range b.segs {
			if s.value <= 0 {
				continue
			}
			w := 0
			if top > 0 {
				w = max(s.value*barMax/top, 2)
			}
			row.Segs = append(row.Segs, Seg{X: x, Y: y, W: w, Fill: fills[s.fill].Name})
			used[s.fill] = true
			x += w
		}
		row.TextX = x + 8
		c.Rows = append(c.Rows, row)
		desc = append(desc, b.label+": "+b.text)
	}
	y := chartTop + len(bars)*rowHeight + 6
	for i, name := range legend {
		f := fills[name]
		x := barLeft + i*legendWidth
		c.Legend = append(c.Legend, LegendItem{X: x, Y: y, TextX: x + 22, TextY: y + 12, Fill: f.Name, Label: f.Caption})
		used[name] = true
	}
	if len(legend) > 0 {
		y += legendRow
	}
	c.Height = y
	for _, name := range Buckets {
		if used[name] {
			c.Fills = append(c.Fills, fills[name])
		}
	}
	if used["open"] {
		c.Fills = append(c.Fills, fills["open"])
	}
	c.Desc = strings.Join(desc, "; ") + "."
	return c
}

// clipLabel bounds a row's label.
func clipLabel(s string) string {
	if utf8.RuneCountInString(s) <= maxLabel {
		return s
	}
	r := []rune(s)
	return string(r[:maxLabel-1]) + "…"
}

// chartLabel names a bucket in a chart, shortly.
var chartLabel = map[string]string{
	BucketResolved: "Resolved", BucketRefused: "Refused", BucketPending: "Pending",
	BucketNotApproved: "Not approved", BucketEscalated: "Escalated", BucketOther: "Other",
}

// outcomeChart is the chart of the requests by outcome.
func outcomeChart(id string, c Counts) Chart {
	var bars []bar
	for _, b := range Buckets {
		n := c.of(b)
		bars = append(bars, bar{label: chartLabel[b], segs: []segValue{{b, n}}, text: countShare(n, c.Requests)})
	}
	return layout(id, "Requests by outcome", bars, nil)
}

// resolvedChart is a chart of groups, each bar its resolved requests
// (solid) and the others (hatched).
func resolvedChart(id, title string, names []string, counts []Counts) Chart {
	var bars []bar
	for i, c := range counts {
		bars = append(bars, bar{label: names[i],
			segs: []segValue{{BucketResolved, c.Resolved}, {"open", c.Requests - c.Resolved}},
			text: fmt.Sprintf("%d of %d resolved (%s)", c.Resolved, c.Requests, percent(c.ResolvedShare))})
	}
	return layout(id, title, bars, []string{BucketResolved, "open"})
}

// countShare is "n (p%)" of n out of total.
func countShare(n, total int) string {
	if total == 0 {
		return fmt.Sprint(n)
	}
	return fmt.Sprintf("%d (%s)", n, percent(float64(n)/float64(total)))
}
