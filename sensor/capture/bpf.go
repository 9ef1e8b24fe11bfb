package capture

import (
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcap"
	"golang.org/x/net/bpf"

	"github.com/apitap/apitap/sensor/decode"
)

// compileBPF compiles a tcpdump expression with libpcap's compiler (the only
// complete implementation of the language) into classic BPF.
func compileBPF(link decode.LinkType, snaplen int, expr string) ([]bpf.RawInstruction, error) {
	ins, err := pcap.CompileBPFFilter(layers.LinkType(link), snaplen, expr)
	if err != nil {
		return nil, err
	}
	raw := make([]bpf.RawInstruction, len(ins))
	for i, in := range ins {
		raw[i] = bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	return raw, nil
}

// newVM builds a user-space BPF interpreter for file mode.
func newVM(link decode.LinkType, snaplen int, expr string) (*bpf.VM, error) {
	raw, err := compileBPF(link, snaplen, expr)
	if err != nil {
		return nil, err
	}
	ins, ok := bpf.Disassemble(raw)
	if !ok {
		// Disassemble returns RawInstructions it cannot decode; the VM
		// accepts them only if they are valid, so let it report.
		_ = ok
	}
	return bpf.NewVM(ins)
}
