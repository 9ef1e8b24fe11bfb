// Package migrations holds the ClickHouse schema of the analyzer's tables as
// numbered DDL files (docs/storage.md). Each file is a Go text/template so
// one source renders for every supported server version and for cluster
// mode; analyzer/store renders and applies them.
//
// File names are NNNN_name.sql: NNNN is the migration's version, applied in
// ascending order and recorded once applied. A file, once released, is never
// edited: a change to a table is a new file ({{addColumn ...}}, which
// renders ALTER TABLE ... ADD COLUMN IF NOT EXISTS where the server has it).
// Every statement is idempotent (IF NOT EXISTS; on servers without ADD
// COLUMN IF NOT EXISTS the store treats "column exists" as applied), so
// re-running a migration is a no-op. Statements are separated by a ';' that ends a line.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed *.sql
var FS embed.FS

// File is one migration.
type File struct {
	Version int    // NNNN of the file name
	Name    string // file name, e.g. "0001_exchanges.sql"
	Source  string // the template text
}

// Files returns the migrations in ascending version order. Versions must be
// unique and start at 1 with no gap.
func Files() ([]File, error) {
	entries, err := fs.ReadDir(FS, ".")
	if err != nil {
		return nil, err
	}
	var out []File
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || len(num) != 4 || v < 1 {
			return nil, fmt.Errorf("migrations: %s: want NNNN_name.sql", name)
		}
		src, err := fs.ReadFile(FS, name)
		if err != nil {
			return nil, err
		}
		out = append(out, File{Version: v, Name: name, Source: string(src)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, f := range out {
		if f.Version != i+1 {
			return nil, fmt.Errorf("migrations: %s: version %d, want %d (versions are consecutive from 1)", f.Name, f.Version, i+1)
		}
	}
	return out, nil
}
