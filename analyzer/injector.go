package analyzer

import (
	"github.com/apitap/apitap/analyzer/anomaly"
	"github.com/apitap/apitap/flow"
)

// injector finds injection payloads in a request (analyzer/inject).
type injector struct{}

func newInjector() injector { return injector{} }

func (j *injector) scanExchange(dst []anomaly.Injection, e *flow.Exchange) []anomaly.Injection {
	return dst
}
