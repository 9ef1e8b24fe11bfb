package zstd

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"

	kzstd "github.com/klauspost/compress/zstd"
)

// apiText is ~n bytes of JSON API traffic: repeated structure and
// values drawn from small, skewed sets (users, products, statuses), as the
// publisher's batches hold.
func apiText(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	z := rand.NewZipf(r, 1.2, 1, 2000)
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		u := z.Uint64()
		fmt.Fprintf(&b, `{"order":%d,"user":{"id":%d,"email":"user%d@example.com","name":"User %d"},"items":[{"sku":"SKU-%05d","qty":%d,"price":%d.99}],"status":"%s","currency":"EUR"}`+"\n",
			100000+i, u, u, u, z.Uint64(), r.IntN(3)+1, 5+z.Uint64()%50, []string{"paid", "open", "shipped", "paid"}[r.IntN(4)])
	}
	return b.Bytes()[:n]
}

func random(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// decode is an independent decoder (the Go one, as kafka-go's consumers
// use) limited to the window the encoder promised.
func decode(t testing.TB, frame []byte, window int) []byte {
	t.Helper()
	d, err := kzstd.NewReader(nil, kzstd.WithDecoderConcurrency(1), kzstd.WithDecoderMaxWindow(uint64(window)))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	out, err := d.DecodeAll(frame, nil)
	if err != nil {
		t.Fatalf("decoding a %d-byte frame (window %d): %v", len(frame), window, err)
	}
	return out
}

// checksumFlag reports the frame's content checksum flag (RFC 8878
// §3.1.1.1.1).
func checksumFlag(t testing.TB, f []byte) bool {
	t.Helper()
	if len(f) < 5 || !bytes.Equal(f[:4], []byte{0x28, 0xb5, 0x2f, 0xfd}) {
		t.Fatalf("not a zstd frame: % x", f[:min(len(f), 8)])
	}
	return f[4]&0x04 != 0
}

func TestRoundTrip(t *testing.T) {
	t.Logf("implementation: %s", Implementation())
	const window = 1 << 20
	for _, lvl := range []Level{Fastest, Default, Better} {
		e, err := NewEncoder(lvl, window)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range []struct {
			name string
			data []byte
		}{
			{"empty", nil},
			{"one", []byte{'x'}},
			{"api-100", apiText(100, 1)},
			{"api-64k", apiText(64<<10, 2)},
			{"api-1m", apiText(window, 3)},
			{"random-1m", random(window, 4)},
			{"api-3m", apiText(3*window, 5)}, // longer than the window
		} {
			prefix := []byte("hdr")
			out, err := e.EncodeAll(in.data, append([]byte(nil), prefix...))
			if err != nil {
				t.Fatalf("level %d %s: %v", lvl, in.name, err)
			}
			if !bytes.HasPrefix(out, prefix) {
				t.Fatalf("level %d %s: dst's bytes were not kept", lvl, in.name)
			}
			f := out[len(prefix):]
			if checksumFlag(t, f) {
				t.Errorf("level %d %s: the frame carries a content checksum", lvl, in.name)
			}
			if got := decode(t, f, window); !bytes.Equal(got, in.data) {
				t.Fatalf("level %d %s: round trip differs (%d bytes in, %d out)", lvl, in.name, len(in.data), len(got))
			}
		}
		e.Close()
		if _, err := e.EncodeAll([]byte("x"), nil); !errors.Is(err, ErrClosed) {
			t.Errorf("after Close: %v, want ErrClosed", err)
		}
	}
}

// batch is testdata/batch.bin.zst: a 1,000-record batch of the publisher's
// benchmark mix (internal/pcapgen traffic as the sensor encodes it, framed
// as a Kafka v2 record set; 976 KB), made by bus/kafka's TestZstdFixture.
func batch(t testing.TB) []byte {
	t.Helper()
	f, err := os.ReadFile("testdata/batch.bin.zst")
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, f, 8<<20)
}

// TestLevels: on a real batch, the levels trade size as their names say.
func TestLevels(t *testing.T) {
	src := batch(t)
	size := map[Level]int{}
	for _, lvl := range []Level{Fastest, Default, Better} {
		e, err := NewEncoder(lvl, len(src))
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.EncodeAll(src, nil)
		e.Close()
		if err != nil {
			t.Fatal(err)
		}
		size[lvl] = len(out)
	}
	t.Logf("%s, the mix batch (%d bytes): fastest %d, default %d, better %d bytes", Implementation(), len(src), size[Fastest], size[Default], size[Better])
	if !(size[Fastest] > size[Default] && size[Default] > size[Better]) {
		t.Errorf("sizes fastest %d, default %d, better %d: want strictly decreasing", size[Fastest], size[Default], size[Better])
	}
	for _, s := range []string{"", "default", "fastest", "better"} {
		if _, err := ParseLevel(s); err != nil {
			t.Errorf("ParseLevel(%q): %v", s, err)
		}
	}
	if _, err := ParseLevel("max"); err == nil {
		t.Error(`ParseLevel("max") accepted`)
	}
	if _, err := NewEncoder(Level(9), 1<<20); err == nil {
		t.Error("NewEncoder accepted level 9")
	}
}

// TestConcurrent: calls from many goroutines (partitions in flight) each
// get their own context and produce the same frames as one at a time.
func TestConcurrent(t *testing.T) {
	e, err := NewEncoder(Default, 256<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	inputs := make([][]byte, 8)
	want := make([][]byte, len(inputs))
	for i := range inputs {
		inputs[i] = apiText(200<<10, uint64(10+i))
		if want[i], err = e.EncodeAll(inputs[i], nil); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16*len(inputs))
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var dst []byte
			for k := range 10 {
				i := (g + k) % len(inputs)
				var err error
				if dst, err = e.EncodeAll(inputs[i], dst[:0]); err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(dst, want[i]) {
					errs <- fmt.Errorf("goroutine %d input %d: frame differs from the sequential one", g, i)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := decode(t, want[3], 256<<10); !bytes.Equal(got, inputs[3]) {
		t.Fatal("round trip differs")
	}
}

// TestEncodeAllAllocs: with libzstd, a call with room in dst allocates
// nothing (the Go encoder allocates a few small objects per call).
func TestEncodeAllAllocs(t *testing.T) {
	if !strings.HasPrefix(Implementation(), "libzstd") {
		t.Skipf("%s: not allocation-free", Implementation())
	}
	e, err := NewEncoder(Default, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	src := apiText(256<<10, 3)
	dst := make([]byte, 0, 512<<10)
	if n := testing.AllocsPerRun(20, func() { dst, _ = e.EncodeAll(src, dst[:0]) }); n != 0 {
		t.Errorf("%v allocations per EncodeAll, want 0", n)
	}
	if got := decode(t, dst, 1<<20); !bytes.Equal(got, src) {
		t.Fatal("round trip differs")
	}
}

// BenchmarkEncodeAll compresses the mix batch (testdata) at each level.
func BenchmarkEncodeAll(b *testing.B) {
	src := batch(b)
	for _, lvl := range []string{"fastest", "default", "better"} {
		b.Run(lvl, func(b *testing.B) {
			l, _ := ParseLevel(lvl)
			e, err := NewEncoder(l, len(src))
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			dst := make([]byte, 0, 2<<20)
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				dst, _ = e.EncodeAll(src, dst[:0])
			}
			b.ReportMetric(float64(len(src))/float64(len(dst)), "ratio")
		})
	}
}
