package nagios

// uom is what a perfdata unit of measurement means once normalised.
type uom struct {
	factor  float64 // multiply the value (and thresholds) by this
	unit    string  // wire.Metric.Unit
	counter bool
}

const kib = 1024

// uoms are the units of the Nagios plugin API, plus the binary spellings
// (KiB …) and ns that newer plugins print. Bytes go in steps of 1024, as
// Nagios plugins mean KB, MB, GB.
var uoms = map[string]uom{
	"":    {1, "", false},
	"s":   {1, "seconds", false},
	"ms":  {1e-3, "seconds", false},
	"us":  {1e-6, "seconds", false},
	"ns":  {1e-9, "seconds", false},
	"%":   {1, "percent", false},
	"B":   {1, "bytes", false},
	"KB":  {kib, "bytes", false},
	"MB":  {kib * kib, "bytes", false},
	"GB":  {kib * kib * kib, "bytes", false},
	"TB":  {kib * kib * kib * kib, "bytes", false},
	"PB":  {kib * kib * kib * kib * kib, "bytes", false},
	"KiB": {kib, "bytes", false},
	"MiB": {kib * kib, "bytes", false},
	"GiB": {kib * kib * kib, "bytes", false},
	"TiB": {kib * kib * kib * kib, "bytes", false},
	"PiB": {kib * kib * kib * kib * kib, "bytes", false},
	"c":   {1, "", true},
}
