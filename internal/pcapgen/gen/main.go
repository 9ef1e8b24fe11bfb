// Command gen writes a synthetic capture with pcapgen (the bundled sample
// and benchmark inputs): go run ./internal/pcapgen/gen -o FILE [-n N] [-conns C].
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/apitap/apitap/internal/pcapgen"
)

func main() {
	out := flag.String("o", "", "output pcap file")
	n := flag.Int("n", 1000, "exchanges")
	conns := flag.Int("conns", 50, "keep-alive connections")
	gz := flag.Float64("gzip", 0.3, "share of item responses gzip-encoded")
	seed := flag.Int64("seed", 1, "PRNG seed")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "gen: -o FILE is required")
		os.Exit(2)
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	res, err := pcapgen.Write(f, pcapgen.Options{Exchanges: *n, Conns: *conns, GzipShare: *gz, Seed: *seed})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	fmt.Printf("%s: %d packets, %d exchanges, %d bytes\n", *out, res.Packets, res.Exchanges, res.Bytes)
}
