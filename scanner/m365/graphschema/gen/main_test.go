package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestRegenerates: the generator, run on the metadata the committed
// schema.json names, writes schema.json byte for byte. Skipped where no
// copy of the metadata sits beside the repository.
func TestRegenerates(t *testing.T) {
	src := filepath.Join("..", "..", "..", "..", "..", "shared", "reference", "graph-schema")
	if _, err := os.Stat(filepath.Join(src, "v1.0-Prod.csdl")); err != nil {
		t.Skip("Graph metadata not present")
	}
	out := filepath.Join(t.TempDir(), "schema.json")
	if err := run(src, "f54f11b60956ea7b185ca0447b2b80805836ec7b", "2026-08-20", out); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	want, err := os.ReadFile(filepath.Join("..", "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("schema.json differs from what the generator writes: run go generate in scanner/m365/graphschema")
	}
}
