package store

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/tierzero/tierzero"
)

// A head file (<dir>/heads/<tenant>.head) records the latest record of a
// tenant's audit chain outside the tenant's file, so that a chain cut short
// is detected. It has two 128-byte slots, written alternately (record seq
// goes to slot seq%2) and synced after each append; each slot is
//
//	"TZH2" | seq (8, big endian) | record hash (32) | Ed25519 signature (64)
//
// signed with the tenant's audit key over the tenant, the slot's position,
// seq and hash, so that nobody without the key can write a slot that
// verifies, nor move one to another tenant or position. The file is created
// with both slots filled (genesis slots, seq 0, when the chain is empty), so
// an empty or invalid slot is damage or tampering: it is tolerated only in
// the one state a torn write leaves (the newer slot bad and exactly one
// record, individually signed, beyond the older one).
//
// Files written before audit records were signed held two 64-byte slots
// "TZH1" | seq | hash | CRC-32; they are read only by UpgradeAudit.
const (
	headSlot    = 128
	headMagic   = "TZH2"
	headLen     = 4 + 8 + 32 + ed25519.SignatureSize
	headSlotV1  = 64
	headMagicV1 = "TZH1"
	headLenV1   = 4 + 8 + 32 + 4
)

// head is the position of an audit record: its seq and hash.
type head struct {
	seq  uint64
	hash [32]byte
}

func headMsg(tenant tierzero.TenantID, pos int, h head) []byte {
	return appendFields([]byte("tierzero audit head v2"), []byte(tenant), []byte{byte(pos)}, seqKey(h.seq), h.hash[:])
}

func encodeHead(tenant tierzero.TenantID, pos int, h head, priv ed25519.PrivateKey) []byte {
	b := make([]byte, headSlot)
	copy(b, headMagic)
	binary.BigEndian.PutUint64(b[4:], h.seq)
	copy(b[12:], h.hash[:])
	copy(b[44:], ed25519.Sign(priv, headMsg(tenant, pos, h)))
	return b
}

// headState is what a head file holds, its slots checked against the
// tenant's audit verification key.
type headState struct {
	exists bool
	legacy bool    // the unsigned format of older versions
	v1     head    // legacy: the latest valid slot
	v1ok   bool    // legacy: some slot was valid
	slots  [2]head // as parsed
	ok     [2]bool // the slot's signature verifies (for its position)
	filled [2]bool // the slot is not all zeros
}

// best returns the valid slot with the higher seq.
func (s headState) best() (head, bool) {
	switch {
	case s.ok[0] && s.ok[1]:
		if s.slots[1].seq > s.slots[0].seq {
			return s.slots[1], true
		}
		return s.slots[0], true
	case s.ok[0]:
		return s.slots[0], true
	case s.ok[1]:
		return s.slots[1], true
	}
	return head{}, false
}

// valid reports how many slots verify.
func (s headState) valid() int {
	n := 0
	for _, ok := range s.ok {
		if ok {
			n++
		}
	}
	return n
}

// parseHeadState checks the contents of a head file. With pub nil no slot
// verifies.
func parseHeadState(b []byte, tenant tierzero.TenantID, pub ed25519.PublicKey) headState {
	s := headState{exists: true}
	if isLegacyHead(b) {
		s.legacy = true
		s.v1, s.v1ok = parseHeadV1(b)
		return s
	}
	for pos := 0; pos < 2; pos++ {
		slot := b[min(len(b), pos*headSlot):min(len(b), (pos+1)*headSlot)]
		s.filled[pos] = len(slot) > 0 && !bytes.Equal(slot, make([]byte, len(slot)))
		if len(slot) < headLen || !bytes.Equal(slot[:4], []byte(headMagic)) {
			continue
		}
		h := head{seq: binary.BigEndian.Uint64(slot[4:])}
		copy(h.hash[:], slot[12:44])
		s.slots[pos] = h
		// A slot holds a seq of its parity; seq 0 (the empty chain) may be
		// in either, each signed for its own position.
		if h.seq != 0 && int(h.seq%2) != pos {
			continue
		}
		s.ok[pos] = pub != nil && ed25519.Verify(pub, headMsg(tenant, pos, h), slot[44:headLen])
	}
	return s
}

func isLegacyHead(b []byte) bool {
	for pos := 0; pos < 2; pos++ {
		if off := pos * headSlotV1; len(b) >= off+4 && bytes.Equal(b[off:off+4], []byte(headMagicV1)) {
			return true
		}
	}
	return false
}

// parseHeadV1 returns the latest valid slot of an unsigned head file.
func parseHeadV1(b []byte) (head, bool) {
	var best head
	found := false
	for i := 0; i < 2; i++ {
		s := b[min(len(b), i*headSlotV1):min(len(b), i*headSlotV1+headLenV1)]
		if len(s) < headLenV1 || !bytes.Equal(s[:4], []byte(headMagicV1)) ||
			binary.BigEndian.Uint32(s[44:]) != crc32.ChecksumIEEE(s[:44]) {
			continue
		}
		found = true
		seq := binary.BigEndian.Uint64(s[4:])
		if seq >= best.seq {
			best.seq = seq
			copy(best.hash[:], s[12:44])
		}
	}
	return best, found
}

// readHeadState reads a tenant's head file (never through a symlink);
// exists is false when there is none.
func readHeadState(path string, tenant tierzero.TenantID, pub ed25519.PublicKey) (headState, error) {
	f, err := openNoFollow(path, os.O_RDONLY)
	if errors.Is(err, os.ErrNotExist) {
		return headState{}, nil
	}
	if err != nil {
		return headState{}, fmt.Errorf("read audit head: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.NewSectionReader(f, 0, 2*headSlot))
	if err != nil {
		return headState{}, fmt.Errorf("read audit head: %w", err)
	}
	return parseHeadState(b, tenant, pub), nil
}

// createHead writes a new head file holding slots (each at its position),
// replacing any file at path atomically: a crash leaves the old file or the
// new one, never a part.
func createHead(path string, tenant tierzero.TenantID, priv ed25519.PrivateKey, slots [2]head) error {
	tmp := path + ".new"
	os.Remove(tmp)
	f, err := openNoFollow(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return fmt.Errorf("create audit head: %w", err)
	}
	b := append(encodeHead(tenant, 0, slots[0], priv), encodeHead(tenant, 1, slots[1], priv)...)
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("create audit head: %w", err)
	}
	return nil
}

// headFile is an open head file, the head it holds and the key that signs
// its slots.
type headFile struct {
	f      *os.File
	cur    head
	tenant tierzero.TenantID
	priv   ed25519.PrivateKey
}

// openHead opens an existing head file for writing; cur is set by the
// caller once the file was checked against the chain.
func openHead(path string, tenant tierzero.TenantID, priv ed25519.PrivateKey, cur head) (*headFile, error) {
	f, err := openNoFollow(path, os.O_RDWR)
	if err != nil {
		return nil, fmt.Errorf("open audit head: %w", err)
	}
	return &headFile{f: f, cur: cur, tenant: tenant, priv: priv}, nil
}

// write records h durably in slot h.seq%2; heads only move forward.
func (hf *headFile) write(h head) error {
	if h.seq <= hf.cur.seq {
		return nil
	}
	return hf.put(h)
}

// put writes h to its slot whatever the current head.
func (hf *headFile) put(h head) error {
	pos := int(h.seq % 2)
	if _, err := hf.f.WriteAt(encodeHead(hf.tenant, pos, h, hf.priv), int64(pos)*headSlot); err != nil {
		return fmt.Errorf("write audit head: %w", err)
	}
	if err := hf.f.Sync(); err != nil {
		return fmt.Errorf("sync audit head: %w", err)
	}
	if h.seq > hf.cur.seq {
		hf.cur = h
	}
	return nil
}

func (hf *headFile) close() error { return hf.f.Close() }
