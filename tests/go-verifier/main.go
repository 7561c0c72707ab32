// An independent verifier of the hub's audit trail, built only on Go's own transparency-log
// packages (golang.org/x/mod/sumdb/note and .../tlog). It reads one JSON request on stdin:
//
//	{"key": "<verifier key>", "checkpoint": "<signed note>", "record": "<canonical JSON of a record>",
//	 "index": 3, "proof": ["<base64 hash>", ...],
//	 "older": "<earlier signed checkpoint>", "consistency": ["<base64 hash>", ...]}
//
// and prints "ok" when the checkpoint's signature verifies, the record is in the checkpoint's tree
// at index, and (if given) the checkpoint extends the older one. Anything else: a message, exit 1.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type request struct {
	Key         string   `json:"key"`
	Checkpoint  string   `json:"checkpoint"`
	Record      string   `json:"record"`
	Index       int64    `json:"index"`
	Proof       []string `json:"proof"`
	Older       string   `json:"older"`
	Consistency []string `json:"consistency"`
}

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

func open(key, signed string) (checkpoint, error) {
	verifier, err := note.NewVerifier(key)
	if err != nil {
		return checkpoint{}, fmt.Errorf("verifier key: %w", err)
	}
	n, err := note.Open([]byte(signed), note.VerifierList(verifier))
	if err != nil {
		return checkpoint{}, fmt.Errorf("checkpoint signature: %w", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		return checkpoint{}, fmt.Errorf("checkpoint: want origin, size and root")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		return checkpoint{}, fmt.Errorf("checkpoint size: %w", err)
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		return checkpoint{}, fmt.Errorf("checkpoint root: %w", err)
	}
	return checkpoint{origin: lines[0], size: size, root: root}, nil
}

func hashes(list []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != tlog.HashSize {
			return nil, fmt.Errorf("proof hash %d is not a base64 SHA-256", i)
		}
		copy(out[i][:], b)
	}
	return out, nil
}

func run() error {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		return fmt.Errorf("request: %w", err)
	}
	c, err := open(req.Key, req.Checkpoint)
	if err != nil {
		return err
	}
	proof, err := hashes(req.Proof)
	if err != nil {
		return err
	}
	if err := tlog.CheckRecord(proof, c.size, c.root, req.Index, tlog.RecordHash([]byte(req.Record))); err != nil {
		return fmt.Errorf("inclusion of record %d in %s at size %d: %w", req.Index, c.origin, c.size, err)
	}
	if req.Older != "" {
		older, err := open(req.Key, req.Older)
		if err != nil {
			return err
		}
		tree, err := hashes(req.Consistency)
		if err != nil {
			return err
		}
		if err := tlog.CheckTree(tree, c.size, c.root, older.size, older.root); err != nil {
			return fmt.Errorf("consistency %d → %d: %w", older.size, c.size, err)
		}
	}
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("ok")
}
