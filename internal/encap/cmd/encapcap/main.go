// Command encapcap re-encapsulates and optionally damages a capture for
// tests (see package internal/encap):
//
//	go run ./internal/encap/cmd/encapcap -in clean.pcap -out vxlan.pcap -mode vxlan -id 42
//	go run ./internal/encap/cmd/encapcap -in clean.pcap -out lossy.pcap -drop 0.02 -reorder 0.05 -dup 0.02 -seed 1
//
// It prints what it did on standard error.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/apitap/apitap/internal/encap"
)

func main() {
	var modes []string
	for _, m := range encap.Modes {
		modes = append(modes, string(m))
	}
	in := flag.String("in", "", "input capture (pcap or pcapng; Ethernet, raw IP or Linux cooked)")
	out := flag.String("out", "", "output capture (classic pcap, Ethernet)")
	mode := flag.String("mode", "none", "encapsulation: none, "+strings.Join(modes, ", "))
	id := flag.Uint("id", encap.DefaultID, "VLAN id, VNI, GRE key, ERSPAN session or top MPLS label")
	innerID := flag.Uint("inner-id", 0, "qinq inner (C-tag) VLAN id and bottom MPLS label (default id+1)")
	drop := flag.Float64("drop", 0, "fraction of data-carrying TCP segments to drop (never SYN/FIN/RST)")
	reorder := flag.Float64("reorder", 0, "fraction of adjacent same-direction data segment pairs to swap")
	dup := flag.Float64("dup", 0, "fraction of TCP segments to duplicate (retransmissions)")
	seed := flag.Int64("seed", 1, "seed of the damage choices")
	flag.Parse()
	if *in == "" || *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: encapcap -in FILE -out FILE [-mode MODE] [-id N] [-drop F] [-reorder F] [-dup F] [-seed N]")
		flag.PrintDefaults()
		os.Exit(2)
	}
	if *id > 1<<32-1 || *innerID > 1<<32-1 {
		fmt.Fprintln(os.Stderr, "encapcap: -id and -inner-id must fit in 32 bits")
		os.Exit(2)
	}
	if err := run(*in, *out, encap.Options{
		Mode: encap.Mode(*mode), ID: uint32(*id), InnerID: uint32(*innerID),
		Drop: *drop, Reorder: *reorder, Dup: *dup, Seed: *seed,
	}); err != nil {
		fmt.Fprintln(os.Stderr, "encapcap:", err)
		os.Exit(1)
	}
}

func run(in, out string, o encap.Options) error {
	r, err := os.Open(in)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := os.Create(out)
	if err != nil {
		return err
	}
	st, err := encap.Rewrite(r, w, o)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
		return err
	}
	fmt.Fprintf(os.Stderr, "read %d, wrote %d, skipped %d (not IP, mode %s); dropped %d of %d data segments, swapped %d of %d pairs, duplicated %d of %d segments\n",
		st.Read, st.Written, st.Skipped, o.Mode, st.Dropped, st.DropEligible, st.Reordered, st.ReorderEligible, st.Duplicated, st.DupEligible)
	return nil
}
