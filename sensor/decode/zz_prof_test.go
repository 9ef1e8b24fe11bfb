package decode

import (
	"math/rand/v2"
	"testing"
	"time"
)

func BenchmarkFuzzDefragBody(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	data := make([]byte, 600)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	keys := fuzzKeys()
	for i := 0; i < b.N; i++ {
		recs := parseFragRecs(data)
		var stats, tstats Stats
		big := Config{FragMaxDatagrams: 64, FragMaxBytes: 1 << 24, FragTimeout: time.Duration(1 << 62), FragMaxDatagram: 8000}
		tight := Config{FragMaxDatagrams: 2, FragMaxBytes: 4096, FragTimeout: 5 * time.Second, FragMaxDatagram: 2000}
		var model, small defrag
		model.init(&big, &stats)
		small.init(&tight, &tstats)
		dgs := map[int]*modelDatagram{}
		var ts int64
		for i, r := range recs {
			ts += r.dt
			model.tick(ts)
			small.tick(ts)
			chunk := make([]byte, r.n&0x3ff)
			for j := range chunk {
				chunk[j] = byte(i*37 + j*11 + 1)
			}
			hl := 20
			k := keys[r.key]
			if k.v6 {
				hl = 40
			} else {
				k.proto = r.proto
			}
			model.add(&k, r.off, r.more, r.proto, chunk, hl)
			modelAdd(dgs, r, chunk, hl, 8000)

			checkDefrag(b, &model)
			small.add(&k, r.off, r.more, r.proto, chunk, hl)
			checkDefrag(b, &small)
		}
	}
}
