package decode

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestScratch(t *testing.T) {
	filepath.Walk(corpusDir, func(path string, info os.FileInfo, err error) error {
		if info.IsDir() || strings.HasSuffix(path, ".tsv") || strings.Contains(path, "http-evader") {
			return nil
		}
		fs, err := readCaptureErr(path)
		if err != nil {
			fmt.Println("ERR", path, err)
		}
		d := NewDecoder(DefaultConfig())
		var p Packet
		outers := map[string]int{}
		for _, f := range fs {
			if d.Decode(f.data, f.link, f.ts, &p) == ResultTCP {
				outers[fmt.Sprintf("%+v", p.Outer)]++
			}
		}
		s := d.Stats()
		fmt.Printf("%s tcp=%d other=%d frag=%d mal=%d uns=%d snap=%d dg=%d %v\n", strings.TrimPrefix(path, corpusDir+"/"), s.TCP, s.Other, s.Fragments, s.Malformed, s.Unsupported, s.Snapped, s.FragDatagrams, outers)
		return nil
	})
}
