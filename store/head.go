package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// A head file (<dir>/heads/<tenant>.head) records the latest record of a
// tenant's audit chain outside the tenant's file, so that a chain cut short
// is detected. It has two 64-byte slots, written alternately (record seq goes
// to slot seq%2) and synced after each append; each slot is
//
//	"TZH1" | seq (8, big endian) | record hash (32) | CRC-32 of the first 44 bytes
//
// A torn write spoils one slot only: the reader takes the valid slot with
// the higher seq, so the head is never ahead of the committed chain.
const (
	headSlot  = 64
	headMagic = "TZH1"
	headLen   = 4 + 8 + 32 + 4
)

// head is the position of the latest audit record: its seq and hash.
type head struct {
	seq  uint64
	hash [32]byte
}

func encodeHead(h head) []byte {
	b := make([]byte, headSlot)
	copy(b, headMagic)
	binary.BigEndian.PutUint64(b[4:], h.seq)
	copy(b[12:], h.hash[:])
	binary.BigEndian.PutUint32(b[44:], crc32.ChecksumIEEE(b[:44]))
	return b
}

// parseHead returns the latest valid slot of a head file's contents (a zero
// head when none is valid).
func parseHead(b []byte) head {
	var best head
	for i := 0; i < 2; i++ {
		s := b[min(len(b), i*headSlot):min(len(b), i*headSlot+headLen)]
		if len(s) < headLen || !bytes.Equal(s[:4], []byte(headMagic)) ||
			binary.BigEndian.Uint32(s[44:]) != crc32.ChecksumIEEE(s[:44]) {
			continue
		}
		seq := binary.BigEndian.Uint64(s[4:])
		if seq > best.seq {
			best.seq = seq
			copy(best.hash[:], s[12:44])
		}
	}
	return best
}

// readHead reads a tenant's head from disk; ok is false when there is no
// head file.
func readHead(path string) (h head, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return head{}, false, nil
	}
	if err != nil {
		return head{}, false, fmt.Errorf("read audit head: %w", err)
	}
	return parseHead(b), true, nil
}

// headFile is an open head file and the head it holds.
type headFile struct {
	f   *os.File
	cur head
}

// openHead opens (creating) a head file and reads its head.
func openHead(path string) (*headFile, error) {
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return nil, fmt.Errorf("open audit head: %w", err)
	}
	b, err := io.ReadAll(io.NewSectionReader(f, 0, 2*headSlot))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read audit head: %w", err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, err
		}
		if err := syncDir(filepath.Dir(path)); err != nil {
			f.Close()
			return nil, err
		}
	}
	return &headFile{f: f, cur: parseHead(b)}, nil
}

// write records h durably; heads only move forward.
func (hf *headFile) write(h head) error {
	if h.seq <= hf.cur.seq {
		return nil
	}
	if _, err := hf.f.WriteAt(encodeHead(h), int64(h.seq%2)*headSlot); err != nil {
		return fmt.Errorf("write audit head: %w", err)
	}
	if err := hf.f.Sync(); err != nil {
		return fmt.Errorf("sync audit head: %w", err)
	}
	hf.cur = h
	return nil
}

func (hf *headFile) close() error { return hf.f.Close() }
