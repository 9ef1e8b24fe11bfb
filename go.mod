module github.com/apitap/apitap

go 1.26.0

require (
	github.com/andybalholm/brotli v1.2.8
	github.com/google/gopacket v1.1.19
	github.com/klauspost/compress v1.20.3
	go.uber.org/zap v1.28.0
	golang.org/x/net v0.62.0
	golang.org/x/sync v0.24.0
	golang.org/x/sys v0.49.0
	gopkg.in/yaml.v3 v3.0.1
)

require go.uber.org/multierr v1.10.0 // indirect
