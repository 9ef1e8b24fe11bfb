#!/usr/bin/env bash
# Regenerates the Go code of the wire schema: schema/flow/v1/flow.pb.go from
# schema/flow/v1/flow.proto (see docs/wire-format.md).
#
#   scripts/generate.sh            write into the tree
#   scripts/generate.sh DIR        write under DIR instead (DIR/schema/flow/v1/)
#
# protoc is Debian's protobuf-compiler (installed here when missing);
# protoc-gen-go is pinned to the google.golang.org/protobuf version in go.mod,
# so the generated code always matches the runtime it is compiled against.
set -euo pipefail
cd "$(dirname "$0")/.."

PROTOC_GEN_GO_VERSION=v1.36.12 # keep equal to google.golang.org/protobuf in go.mod
PROTOC_VERSION=3.21.12         # Debian bookworm's protobuf-compiler

out=${1:-.}

modver=$(go list -m -f '{{.Version}}' google.golang.org/protobuf)
if [ "$modver" != "$PROTOC_GEN_GO_VERSION" ]; then
  echo "generate.sh: go.mod has google.golang.org/protobuf $modver but the script pins protoc-gen-go $PROTOC_GEN_GO_VERSION; update PROTOC_GEN_GO_VERSION" >&2
  exit 1
fi

if ! command -v protoc >/dev/null 2>&1; then
  echo "generate.sh: installing protobuf-compiler" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler >/dev/null
fi
have=$(protoc --version | awk '{print $2}')
if [ "$have" != "$PROTOC_VERSION" ]; then
  # Only the "// protoc vX" header line depends on it; check-generated.sh
  # ignores that line.
  echo "generate.sh: warning: protoc $have, the committed code was made with $PROTOC_VERSION" >&2
fi

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
GOBIN="$bin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"

mkdir -p "$out"
protoc -I . \
  --plugin=protoc-gen-go="$bin/protoc-gen-go" \
  --go_out="$out" --go_opt=paths=source_relative \
  schema/flow/v1/flow.proto
