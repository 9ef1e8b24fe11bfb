package alert

// For the external tests (package alert_test): the format checkers, which
// parse a CEF or LEEF line with independent parsers and compare every
// field with the alert.
var (
	CheckCEF      = checkCEF
	CheckLEEF     = checkLEEF
	SampleAlert   = sampleAlert
	HostileAlert  = hostileAlert
	HostileValues = hostileValues
)
