package decode

import (
	"errors"
	"fmt"
	"time"
)

// Config tunes the decoder. The zero value is not usable: start from
// DefaultConfig.
type Config struct {
	// VXLANPorts are the UDP destination ports decoded as VXLAN (RFC 7348).
	// Default [4789, 8472] (IANA and the Linux kernel's historical port).
	VXLANPorts []uint16 `yaml:"vxlan_ports"`
	// VXLANGPEPorts are the UDP destination ports decoded as VXLAN-GPE
	// (RFC 9305 draft: VXLAN with a next-protocol field). Default [4790].
	VXLANGPEPorts []uint16 `yaml:"vxlan_gpe_ports"`
	// GENEVEPorts are the UDP destination ports decoded as GENEVE (RFC 8926).
	// Default [6081].
	GENEVEPorts []uint16 `yaml:"geneve_ports"`
	// GREUDPPorts are the UDP destination ports decoded as GRE-in-UDP
	// (RFC 8086). Default [4754].
	GREUDPPorts []uint16 `yaml:"gre_udp_ports"`

	// FragMaxDatagrams bounds the fragmented datagrams (IPv4 and IPv6)
	// being reassembled at once; past it the oldest is dropped. Default 4096.
	FragMaxDatagrams int `yaml:"frag_max_datagrams"`
	// FragMaxBytes bounds the reassembly buffers, in bytes, over all
	// datagrams; past it the oldest datagrams are dropped. Default 16 MiB.
	FragMaxBytes int `yaml:"frag_max_bytes"`
	// FragTimeout is how long, on the capture clock, a datagram may wait
	// for its missing fragments. Default 30s.
	FragTimeout time.Duration `yaml:"frag_timeout"`
	// FragMaxDatagram is the largest reassembled IP datagram, header
	// included; a fragment reaching past it drops its datagram.
	// Default 65535 (the IPv4 maximum). Range [576, 65535].
	FragMaxDatagram int `yaml:"frag_max_datagram"`

	// IgnoreVLAN leaves Outer.VLAN and Outer.InnerVLAN at 0. Use it when
	// the two directions of a connection are mirrored with different tags
	// (routed between VLANs by the switch being monitored), which would
	// otherwise split every such connection in two. Default false.
	IgnoreVLAN bool `yaml:"ignore_vlan"`
	// IgnoreSession leaves Outer.Session at 0 (no GRE key, no ERSPAN
	// session id). Use it when ingress and egress are mirrored through two
	// ERSPAN sessions. Default false.
	IgnoreSession bool `yaml:"ignore_session"`
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		VXLANPorts:       []uint16{4789, 8472},
		VXLANGPEPorts:    []uint16{4790},
		GENEVEPorts:      []uint16{6081},
		GREUDPPorts:      []uint16{4754},
		FragMaxDatagrams: 4096,
		FragMaxBytes:     16 << 20,
		FragTimeout:      30 * time.Second,
		FragMaxDatagram:  65535,
	}
}

// maxPorts bounds each port list: the lookup is a linear scan on the hot
// path, and nobody runs dozens of VXLAN ports.
const maxPorts = 16

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	seen := map[uint16]string{}
	for _, l := range []struct {
		name  string
		ports []uint16
	}{{"vxlan_ports", c.VXLANPorts}, {"vxlan_gpe_ports", c.VXLANGPEPorts}, {"geneve_ports", c.GENEVEPorts}, {"gre_udp_ports", c.GREUDPPorts}} {
		if len(l.ports) > maxPorts {
			errs = append(errs, fmt.Errorf("decode: %s: at most %d ports", l.name, maxPorts))
		}
		for _, p := range l.ports {
			if p == 0 {
				errs = append(errs, fmt.Errorf("decode: %s: port 0", l.name))
				continue
			}
			if other, dup := seen[p]; dup && other != l.name {
				errs = append(errs, fmt.Errorf("decode: port %d is in both %s and %s", p, other, l.name))
			}
			seen[p] = l.name
		}
	}
	if c.FragMaxDatagrams < 1 || c.FragMaxDatagrams > 1<<20 {
		errs = append(errs, fmt.Errorf("decode: frag_max_datagrams %d out of range [1, 1048576]", c.FragMaxDatagrams))
	}
	if c.FragMaxDatagram < 576 || c.FragMaxDatagram > 65535 {
		errs = append(errs, fmt.Errorf("decode: frag_max_datagram %d out of range [576, 65535]", c.FragMaxDatagram))
	}
	// One full datagram must fit, or a legitimate large datagram could
	// never be reassembled.
	if c.FragMaxBytes < c.FragMaxDatagram || c.FragMaxBytes > 1<<32 {
		errs = append(errs, fmt.Errorf("decode: frag_max_bytes %d out of range [frag_max_datagram, 4 GiB]", c.FragMaxBytes))
	}
	if c.FragTimeout <= 0 {
		errs = append(errs, errors.New("decode: frag_timeout must be positive"))
	}
	return errors.Join(errs...)
}
