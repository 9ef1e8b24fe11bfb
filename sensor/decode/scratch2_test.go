package decode

import (
	"fmt"
	"os"
	"testing"
)

func TestScratch2(t *testing.T) {
	f := os.Getenv("PF")
	if f == "" {
		t.Skip()
	}
	d := NewDecoder(DefaultConfig())
	var p Packet
	for i, fr := range readCapture(t, f) {
		r := d.Decode(fr.data, fr.link, fr.ts, &p)
		if os.Getenv("ALL") != "" || r != ResultTCP {
			fmt.Println(i+1, r, p.Outer, len(p.Payload), p.Missing)
		}
	}
	fmt.Printf("%+v\n", d.Stats())
}
