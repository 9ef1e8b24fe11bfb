package deliver

import (
	"context"

	"github.com/apitap/apitap/analyzer/alert"
	"github.com/apitap/apitap/analyzer/alert/syslog"
)

// syslogDest writes CEF or LEEF lines in RFC 5424 frames.
type syslogDest struct {
	s      *syslog.Sender
	format alert.Format
	msgs   []syslog.Message
}

func newSyslog(d DestinationConfig, f alert.Format) (*syslogDest, error) {
	s, err := syslog.New(d.Syslog)
	if err != nil {
		return nil, err
	}
	return &syslogDest{s: s, format: f}, nil
}

func (d *syslogDest) send(ctx context.Context, batch []*alert.Alert) (int, error) {
	d.msgs = d.msgs[:0]
	for _, a := range batch {
		p, err := alert.Append(nil, d.format, a)
		if err != nil {
			return 0, rejected{err}
		}
		d.msgs = append(d.msgs, syslog.Message{Severity: syslog.SeverityOf(a.Severity), MsgID: a.Kind, Time: a.Time, Payload: p})
	}
	// A failed run is sent again whole: a receiver may see the messages
	// before the failure twice (at least once, docs/alerting.md).
	if err := d.s.Send(ctx, d.msgs); err != nil {
		return 0, err
	}
	return len(batch), nil
}

func (d *syslogDest) close() error { return d.s.Close() }
