package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

// KeySize is the size in bytes of the master key and of every data key.
const KeySize = 32

// ErrNoMasterKey is returned when a value must be sealed or opened and the
// store was opened without a master key.
var ErrNoMasterKey = errors.New("store: no master key (set TIERZERO_MASTER_KEY or provide a key file)")

// errForeignKey is wrapped by the error about a wrapped key that the master
// key does not open for its tenant and name.
var errForeignKey = errors.New("altered, or moved from another tenant")

// ErrShredded is wrapped by errors about a tenant whose keys were shredded.
var ErrShredded = errors.New("store: tenant keys shredded")

// The keys bucket of a tenant's file holds its wrapped keys:
//
//	"d" + id (4 bytes, big endian)  a data key, wrapped
//	"current"                       the id of the data key that seals new values
//	"index"                         the HMAC key for record keys, wrapped
//	"audit"                         the Ed25519 seed of the audit key, wrapped
//	"shredded"                      set by Shred (an RFC 3339 time); no data keys remain
//
// The audit key signs the tenant's audit records and its head (audit.go);
// Shred keeps it, so that the chain of a shredded tenant still verifies.
//
// A wrapped key is version (1) | master fingerprint (8) | nonce (12) |
// AES-256-GCM(master, key, AD = tenant and name).
var (
	keysBucket   = []byte("keys")
	currentKey   = []byte("current")
	indexKeyName = []byte("index")
	auditKeyName = []byte("audit")
	shreddedKey  = []byte("shredded")
)

const (
	wrapVersion = 1
	keyIDSize   = 4
	nonceSize   = 12
	tagSize     = 16
	wrappedSize = 1 + 8 + nonceSize + KeySize + tagSize
	sealedMin   = keyIDSize + nonceSize + tagSize
)

// NewMasterKey returns a fresh random master key.
func NewMasterKey() []byte {
	k := make([]byte, KeySize)
	rand.Read(k) // never returns an error
	return k
}

// EncodeMasterKey returns the base64 form of a key, as TIERZERO_MASTER_KEY
// and key files hold it.
func EncodeMasterKey(key []byte) string { return base64.StdEncoding.EncodeToString(key) }

// ParseMasterKey decodes the base64 of exactly 32 bytes (standard or URL
// alphabet, padded or not; surrounding space ignored).
func ParseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != KeySize {
				return nil, fmt.Errorf("master key is %d bytes, want %d (base64 of 32 random bytes, e.g. `openssl rand -base64 32`)", len(k), KeySize)
			}
			return k, nil
		}
	}
	return nil, errors.New("master key is not base64 (want base64 of 32 random bytes, e.g. `openssl rand -base64 32`)")
}

// ReadKeyFile reads a master key file: the base64 of 32 bytes. A file that
// group or others may read (or write) is refused.
func ReadKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read master key: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read master key: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("read master key: %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("master key file %s has mode %#o: it must not be accessible to group or others (chmod 600 %s)", path, perm, path)
	}
	b := make([]byte, 256)
	n, err := f.Read(b)
	if err != nil {
		return nil, fmt.Errorf("read master key %s: %w", path, err)
	}
	k, err := ParseMasterKey(string(b[:n]))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// WriteKeyFile writes key to a new file at path with mode 0600, creating its
// directory (0700) if needed, and syncs it. An existing file is never
// overwritten.
func WriteKeyFile(path string, key []byte) error {
	if len(key) != KeySize {
		return fmt.Errorf("write master key: key is %d bytes, want %d", len(key), KeySize)
	}
	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return fmt.Errorf("write master key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write master key: %w", err)
	}
	_, err = f.WriteString(EncodeMasterKey(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write master key: %w", err)
	}
	return nil
}

// KeyFingerprint names a master key without revealing it (16 hex digits).
func KeyFingerprint(key []byte) string {
	fp := fingerprint(key)
	return hex.EncodeToString(fp[:])
}

func fingerprint(key []byte) [8]byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("tierzero master key fingerprint v1"))
	var fp [8]byte
	copy(fp[:], m.Sum(nil))
	return fp
}

// master is a master key ready to wrap and unwrap data keys.
type master struct {
	aead cipher.AEAD
	fp   [8]byte
}

func newMaster(key []byte) (*master, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("master key is %d bytes, want %d", len(key), KeySize)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	return &master{aead: aead, fp: fingerprint(key)}, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func wrapAD(tenant tierzero.TenantID, name []byte) []byte {
	return appendFields([]byte("tierzero wrap v1"), []byte(tenant), name)
}

func (m *master) wrap(tenant tierzero.TenantID, name, key []byte) []byte {
	out := make([]byte, 0, wrappedSize)
	out = append(out, wrapVersion)
	out = append(out, m.fp[:]...)
	nonce := make([]byte, nonceSize)
	rand.Read(nonce)
	out = append(out, nonce...)
	return m.aead.Seal(out, nonce, key, wrapAD(tenant, name))
}

// wrappedBy returns the fingerprint of the master key that wrapped w.
func wrappedBy(w []byte) ([8]byte, error) {
	var fp [8]byte
	if len(w) != wrappedSize || w[0] != wrapVersion {
		return fp, errors.New("malformed wrapped key")
	}
	copy(fp[:], w[1:9])
	return fp, nil
}

func (m *master) unwrap(tenant tierzero.TenantID, name, w []byte) ([]byte, error) {
	if _, err := wrappedBy(w); err != nil {
		return nil, err
	}
	nonce := w[9 : 9+nonceSize]
	k, err := m.aead.Open(nil, nonce, w[9+nonceSize:], wrapAD(tenant, name))
	if err != nil {
		return nil, fmt.Errorf("%s of tenant %s does not unwrap: %w", keyName(name), tenant, errForeignKey)
	}
	return k, nil
}

func (db *DB) hasMaster() bool {
	db.keyMu.RLock()
	defer db.keyMu.RUnlock()
	return db.current != nil
}

// currentMaster returns the master key that wraps new keys.
func (db *DB) currentMaster() (*master, error) {
	db.keyMu.RLock()
	defer db.keyMu.RUnlock()
	if db.current == nil {
		return nil, ErrNoMasterKey
	}
	return db.current, nil
}

// unwrap opens a wrapped key with the master key that wrapped it.
func (db *DB) unwrap(tenant tierzero.TenantID, name, w []byte) ([]byte, error) {
	fp, err := wrappedBy(w)
	if err != nil {
		return nil, fmt.Errorf("%s of tenant %s: %w", keyName(name), tenant, err)
	}
	db.keyMu.RLock()
	m, ok := db.masters[fp]
	none := db.current == nil
	db.keyMu.RUnlock()
	if none {
		return nil, ErrNoMasterKey
	}
	if !ok {
		return nil, fmt.Errorf("the keys of tenant %s are wrapped by another master key (fingerprint %x); wrong TIERZERO_MASTER_KEY or key file, or an unfinished rotate-master", tenant, fp)
	}
	return m.unwrap(tenant, name, w)
}

// keyring is a tenant's unwrapped keys.
type keyring struct {
	tenant  tierzero.TenantID
	current uint32
	aeads   map[uint32]cipher.AEAD
	index   []byte // HMAC key for record keys
	// sign is the audit key; nil for a tenant whose keys were made before
	// audit records were signed (see UpgradeAudit).
	sign ed25519.PrivateKey
}

func dataKeyName(id uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{'d'}, id)
}

// keyring returns f's keys, loading them on first use. With create, a tenant
// without keys gets its first data key and index key; without, it yields
// (nil, nil). A shredded tenant yields an error wrapping ErrShredded.
func (db *DB) keyring(f *tenantFile, create bool) (*keyring, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.keys != nil {
		return f.keys, nil
	}
	var kr *keyring
	load := func(tx *bolt.Tx) error {
		b := tx.Bucket(keysBucket)
		if b == nil {
			return nil
		}
		if b.Get(shreddedKey) != nil {
			return shreddedError(f.id)
		}
		cur := b.Get(currentKey)
		if cur == nil {
			return nil
		}
		k := &keyring{tenant: f.id, current: binary.BigEndian.Uint32(cur), aeads: make(map[uint32]cipher.AEAD)}
		c := b.Cursor()
		for name, w := c.Seek([]byte{'d'}); name != nil && name[0] == 'd'; name, w = c.Next() {
			if len(name) != 1+keyIDSize {
				continue
			}
			dk, err := db.unwrap(f.id, name, w)
			if err != nil {
				return err
			}
			aead, err := newAEAD(dk)
			if err != nil {
				return err
			}
			k.aeads[binary.BigEndian.Uint32(name[1:])] = aead
		}
		if k.aeads[k.current] == nil {
			return fmt.Errorf("tenant %s: current data key %d is missing", f.id, k.current)
		}
		idx, err := db.unwrap(f.id, indexKeyName, b.Get(indexKeyName))
		if err != nil {
			return err
		}
		k.index = idx
		if w := b.Get(auditKeyName); w != nil {
			seed, err := db.unwrap(f.id, auditKeyName, w)
			if err != nil {
				return err
			}
			k.sign = ed25519.NewKeyFromSeed(seed)
		}
		kr = k
		return nil
	}
	if err := f.view(load); err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	if kr == nil && create {
		m, err := db.currentMaster()
		if err != nil {
			return nil, err
		}
		err = f.update(func(tx *bolt.Tx) error {
			if err := load(tx); err != nil || kr != nil {
				return err
			}
			b, err := tx.CreateBucketIfNotExists(keysBucket)
			if err != nil {
				return err
			}
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			id := uint32(seq)
			dk, idx, seed := NewMasterKey(), NewMasterKey(), NewMasterKey()
			aead, err := newAEAD(dk)
			if err != nil {
				return err
			}
			puts := [][2][]byte{
				{dataKeyName(id), m.wrap(f.id, dataKeyName(id), dk)},
				{indexKeyName, m.wrap(f.id, indexKeyName, idx)},
				{currentKey, binary.BigEndian.AppendUint32(nil, id)},
			}
			sign := ed25519.PrivateKey(nil)
			if b.Get(auditKeyName) == nil && auditEmpty(tx) {
				// A new tenant: its audit chain is signed from its first
				// record. The head file exists before the key that signs
				// it is committed, so a missing head is never a crash's.
				sign = ed25519.NewKeyFromSeed(seed)
				if err := startKeyedChain(tx, f.id, sign, db.headPath(f.id), head{}, head{}); err != nil {
					return err
				}
				puts = append(puts, [2][]byte{auditKeyName, m.wrap(f.id, auditKeyName, seed)})
			}
			for _, kv := range puts {
				if err := b.Put(kv[0], kv[1]); err != nil {
					return err
				}
			}
			kr = &keyring{tenant: f.id, current: id, aeads: map[uint32]cipher.AEAD{id: aead}, index: idx, sign: sign}
			return nil
		})
		if err != nil {
			kr = nil
			return nil, fmt.Errorf("create keys: %w", err)
		}
		db.log.Info("created data key", "tenant", f.id, "key", kr.current)
	}
	f.keys = kr
	return kr, nil
}

func shreddedError(tenant tierzero.TenantID) error {
	return shredded{tierzero.Errorf(tierzero.EConflict, "the data of tenant %s was shredded", tenant)}
}

// shredded is a domain error (EConflict) that is also ErrShredded.
type shredded struct{ e *tierzero.Error }

func (s shredded) Error() string   { return s.e.Error() }
func (s shredded) Unwrap() []error { return []error{s.e, ErrShredded} }

// keyName is how errors name a stored key.
func keyName(name []byte) string {
	if len(name) == 1+keyIDSize && name[0] == 'd' {
		return fmt.Sprintf("data key %d", binary.BigEndian.Uint32(name[1:]))
	}
	return string(name) + " key"
}

// valueAD binds a value to its tenant, bucket and record key.
func valueAD(tenant tierzero.TenantID, bucket, key []byte) []byte {
	return appendFields([]byte("tierzero value v1"), []byte(tenant), bucket, key)
}

// appendFields appends each field with a 4-byte length prefix, so that no
// two different field lists encode alike.
func appendFields(b []byte, fields ...[]byte) []byte {
	for _, f := range fields {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

// seal turns a value into the bytes stored under key in bucket of the
// tenant's file: key id (4) | nonce (12) | AES-256-GCM ciphertext and tag,
// with the tenant, bucket and key as associated data. unseal is its inverse.
func (k *keyring) seal(bucket, key, plaintext []byte) ([]byte, error) {
	if k == nil {
		return nil, errors.New("no data key")
	}
	aead := k.aeads[k.current]
	out := make([]byte, 0, sealedMin+len(plaintext))
	out = binary.BigEndian.AppendUint32(out, k.current)
	nonce := make([]byte, nonceSize)
	rand.Read(nonce)
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plaintext, valueAD(k.tenant, bucket, key)), nil
}

// unseal reverses seal. It returns a fresh slice: the stored bytes belong to
// the bbolt transaction and are invalid once it ends.
func (k *keyring) unseal(bucket, key, stored []byte) ([]byte, error) {
	if len(stored) < sealedMin {
		return nil, fmt.Errorf("%s record %x: too short to be sealed", bucket, key)
	}
	if k == nil {
		return nil, fmt.Errorf("%s record %x: tenant has no data keys", bucket, key)
	}
	id := binary.BigEndian.Uint32(stored)
	aead, ok := k.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%s record %x: sealed with data key %d, which tenant %s does not have", bucket, key, id, k.tenant)
	}
	nonce := stored[keyIDSize : keyIDSize+nonceSize]
	plain, err := aead.Open(nil, nonce, stored[keyIDSize+nonceSize:], valueAD(k.tenant, bucket, key))
	if err != nil {
		return nil, fmt.Errorf("%s record %x of tenant %s does not open with data key %d: altered, moved from another record, or from another tenant", bucket, key, k.tenant, id)
	}
	if plain == nil {
		plain = []byte{}
	}
	return plain, nil
}

// mac returns the record key for an id of some kind (a conversation id, a
// delivery id): an HMAC under the tenant's index key, so that ids derived
// from messages do not appear in the file.
func (k *keyring) mac(kind string, id string) []byte {
	m := hmac.New(sha256.New, k.index)
	m.Write(appendFields(nil, []byte(kind), []byte(id)))
	return m.Sum(nil)
}

// zero overwrites a file's contents with zeros and syncs it.
func zeroFile(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	for off := int64(0); off < fi.Size(); off += int64(len(buf)) {
		n := min(int64(len(buf)), fi.Size()-off)
		if _, err := f.WriteAt(buf[:n], off); err != nil {
			return err
		}
	}
	return f.Sync()
}
