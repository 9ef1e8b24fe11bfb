package main

import (
	"fmt"
	"io"
	"os"

	"github.com/apitap/apitap/internal/encap"
)

func main() {
	in, _ := os.Open(os.Args[1])
	o := encap.Options{Seed: 1}
	switch os.Args[2] {
	case "reorder":
		o.Reorder = 0.05
	case "drop":
		o.Drop = 0.02
	}
	st, err := encap.Rewrite(in, io.Discard, o)
	if err != nil {
		panic(err)
	}
	for _, p := range st.SwappedSegments {
		fmt.Printf("swap idx %d/%d %v>%v seq %d len %d  <->  seq %d len %d\n", p[0].Index, p[1].Index, p[0].Src, p[0].Dst, p[0].Seq, p[0].Len, p[1].Seq, p[1].Len)
	}
	for _, s := range st.DroppedSegments {
		fmt.Printf("drop idx %d %v>%v seq %d len %d\n", s.Index, s.Src, s.Dst, s.Seq, s.Len)
	}
}
