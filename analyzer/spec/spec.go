// Package spec reads OpenAPI 3.x and Swagger 2.0 documents (JSON or YAML)
// and matches observed requests to the operations they document, so the
// analyzer can tell documented traffic from undocumented ("shadow")
// endpoints and find documented operations nobody calls ("dormant").
//
// Only the structure matters here — paths, methods, operation ids,
// deprecation, path parameters, servers — so the loader is a small walk of
// the decoded document, not a validator: a spec with mistakes elsewhere
// still loads, and what could not be understood is a warning on the Spec.
// docs/specs.md describes what is read and the matching rules.
package spec

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Limits. A spec file is untrusted input (it may come from anywhere a user
// points at), so everything read from it is bounded. The largest public
// specs are around 10 MiB and a few thousand operations; the limits sit
// well above that.
const (
	// MaxFileBytes is the largest spec file Load reads.
	MaxFileBytes = 64 << 20
	// MaxFiles is the most spec files LoadAll reads.
	MaxFiles = 10000
	// maxOperations caps the operations taken from one document.
	maxOperations = 100000
	// maxWarnings caps Spec.Warnings; the rest are counted in a last line.
	maxWarnings = 32
	// maxRefDepth caps a chain of $refs ($ref to a $ref …), which also
	// ends reference cycles.
	maxRefDepth = 16
	// maxSegments caps the segments of a template; deeper paths are
	// skipped with a warning (the trie's depth is bounded by it).
	maxSegments = 128
	// maxServerURLs caps the URLs one server entry expands to through the
	// enum values of its variables.
	maxServerURLs = 16
	// maxHosts and maxBasePaths cap the hosts and base paths of one
	// servers list: the matcher gets a route per host and base path for
	// every operation.
	maxHosts     = 32
	maxBasePaths = 8
)

// ErrNotOpenAPI is returned (wrapped) by Load for a file that is readable
// but is not an OpenAPI 3.x or Swagger 2.0 document: a Postman collection, a
// JSON Schema, any other JSON or YAML. LoadAll skips such files in folders.
var ErrNotOpenAPI = errors.New("not an OpenAPI 3.x or Swagger 2.0 document")

// Spec is one loaded document.
type Spec struct {
	File    string // as given to Load
	OpenAPI string // the document's openapi or swagger field: "3.0.3", "3.1.0", "2.0"
	Title   string
	Version string // info.version
	// Hosts are the hosts of the document's servers (Swagger: host),
	// lower-case, without port. Empty: the spec applies to every host (no
	// servers, relative server URLs, or a loopback placeholder such as
	// localhost). A caller that knows where the API is deployed may set
	// Hosts before NewMatcher.
	Hosts []string
	// BasePaths are the path prefixes of the servers (Swagger: basePath),
	// without trailing slash; "" is the root. Every host is combined with
	// every base path.
	BasePaths []string
	// Operations are sorted by path, then method (GET, PUT, POST, DELETE,
	// OPTIONS, HEAD, PATCH, TRACE, QUERY).
	Operations []*Operation
	// Warnings say what was ignored or could not be understood: external
	// $refs, unresolvable $refs, malformed templates, path parameters
	// declared but not templated (or the reverse), limits reached.
	Warnings []string
}

// Operation is one documented method on one path.
type Operation struct {
	Method string // upper-case
	// Path is the template as written in the spec: /users/{userId}.
	Path string
	// Template is Path under the first base path of the operation's
	// servers: /v1/users/{userId}. Matching uses every base path.
	Template string
	// Params are the path parameter names in template order.
	Params      []string
	OperationID string
	Deprecated  bool
	// Servers, when not nil, replace the spec's hosts and base paths for
	// this operation: OpenAPI 3 lets a path item or an operation declare
	// its own servers (Stripe's file upload goes to files.stripe.com).
	Servers *Servers
	Spec    *Spec
}

// Servers are the hosts and base paths an operation is served on, with
// the meaning of Spec.Hosts and Spec.BasePaths.
type Servers struct {
	Hosts     []string
	BasePaths []string
}

// Hosts are the hosts the operation is served on: its own servers', else
// its spec's. Empty means every host.
func (op *Operation) Hosts() []string {
	if op.Servers != nil {
		return op.Servers.Hosts
	}
	if op.Spec != nil {
		return op.Spec.Hosts
	}
	return nil
}

// BasePaths are the base paths the operation is served under: its own
// servers', else its spec's. Empty means the root only.
func (op *Operation) BasePaths() []string {
	if op.Servers != nil {
		return op.Servers.BasePaths
	}
	if op.Spec != nil {
		return op.Spec.BasePaths
	}
	return nil
}

// String is "GET /v1/users/{id}", for messages.
func (op *Operation) String() string { return op.Method + " " + op.Template }

// Load reads one OpenAPI 3.x or Swagger 2.0 document, JSON or YAML.
func Load(path string) (*Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxFileBytes)
	}
	return Parse(path, data)
}

// Parse is Load for a document already in memory; name is used as
// Spec.File and in messages.
func Parse(name string, data []byte) (*Spec, error) {
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxFileBytes)
	}
	root, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	s, err := build(name, root)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// LoadAll loads files and folders (folders recursively: every *.json,
// *.yaml and *.yml). A file named explicitly must load; files found in a
// folder that are not OpenAPI or Swagger documents are skipped (Collect
// reports them), but each folder must hold at least one spec.
func LoadAll(paths []string) ([]*Spec, error) {
	specs, _, err := Collect(paths)
	return specs, err
}

// Collect is LoadAll that also returns one warning per skipped file
// ("dir/postman.json: skipped: not an OpenAPI …").
func Collect(paths []string) (specs []*Spec, skipped []string, err error) {
	seen := make(map[string]bool)
	files := 0
	load := func(p string) (*Spec, error) {
		if files++; files > MaxFiles {
			return nil, fmt.Errorf("more than %d spec files", MaxFiles)
		}
		return Load(p)
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, skipped, err
		}
		if !fi.IsDir() {
			if key := cleanKey(p); !seen[key] {
				seen[key] = true
				s, err := load(p)
				if err != nil {
					return nil, skipped, err
				}
				specs = append(specs, s)
			}
			continue
		}
		found := 0
		err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if d.IsDir() {
				if q != p && strings.HasPrefix(name, ".") {
					return filepath.SkipDir // .git and friends
				}
				return nil
			}
			switch strings.ToLower(filepath.Ext(name)) {
			case ".json", ".yaml", ".yml":
			default:
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			key := cleanKey(q)
			if seen[key] {
				return nil
			}
			seen[key] = true
			s, err := load(q)
			if err != nil {
				var pe *fs.PathError
				if errors.As(err, &pe) || files > MaxFiles {
					return err // I/O trouble or the file limit: not a skip
				}
				skipped = append(skipped, fmt.Sprintf("%s: skipped: %v", q, trimName(err, q)))
				return nil
			}
			found++
			specs = append(specs, s)
			return nil
		})
		if err != nil {
			return nil, skipped, err
		}
		if found == 0 {
			return nil, skipped, fmt.Errorf("%s: no OpenAPI or Swagger document found (%d files skipped)", p, len(skipped))
		}
	}
	return specs, skipped, nil
}

func cleanKey(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return filepath.Clean(p)
}

// trimName drops the "name: " prefix Parse puts on its errors, since the
// skip message names the file already.
func trimName(err error, name string) string {
	return strings.TrimPrefix(err.Error(), name+": ")
}
