package store

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

// executedCounts counts, per UTC day, requester and action, the audit
// records of actions that ran (kind executed, outcome ok): the history
// behind max_per_day rules, read without opening the day's audit trail.
// A key is the day (8 bytes, big-endian days since 1970) and the first 16
// bytes of HMAC(index key, requester, action); its value the count (8
// bytes). Key countsFrom holds the time of the first record counted: a day
// that began before it is counted from the trail. Days before yesterday
// are pruned as counts are added.
var (
	executedCountsBucket = []byte("executed_counts")
	countsFrom           = []byte("from")
)

func countDay(t time.Time) uint64 { return uint64(t.UTC().Unix() / 86400) }

func countKey(kr *keyring, day uint64, requester, action string) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 24), day)
	return append(k, kr.mac(string(executedCountsBucket), requester+"\x00"+action)[:16]...)
}

// countExecuted adds ev to the counts when it is an action that ran. It
// runs in the transaction that appends ev.
func countExecuted(tx *bolt.Tx, kr *keyring, ev *tierzero.AuditEvent) error {
	if ev.Kind != tierzero.AuditExecuted || ev.Outcome != "ok" || ev.Tool == "" {
		return nil
	}
	b, err := tx.CreateBucketIfNotExists(executedCountsBucket)
	if err != nil {
		return err
	}
	if b.Get(countsFrom) == nil {
		if err := b.Put(countsFrom, binary.BigEndian.AppendUint64(nil, uint64(ev.Time.UnixNano()))); err != nil {
			return err
		}
	}
	day := countDay(ev.Time)
	c := b.Cursor()
	for k, _ := c.First(); len(k) == 24 && binary.BigEndian.Uint64(k)+1 < day; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	key := countKey(kr, day, ev.Requester, ev.Tool)
	var n uint64
	if v := b.Get(key); len(v) == 8 {
		n = binary.BigEndian.Uint64(v)
	}
	return b.Put(key, binary.BigEndian.AppendUint64(nil, n+1))
}

// CountToday counts the actions of one requester that ran (an "executed"
// audit record with outcome ok) since the start of now's day, UTC: the
// history behind max_per_day policy rules. A tenant with no data has none.
// It reads the counts kept with the trail, or the day's trail when the
// counts began later than the day.
func (db *DB) CountToday(ctx context.Context, tenant tierzero.TenantID, requesterUPN, action string, now time.Time) (int, error) {
	if err := db.settle(ctx, tenant, false); err != nil {
		return 0, err
	}
	day := now.UTC().Truncate(24 * time.Hour)
	f, err := db.acquire(ctx, tenant, false)
	if err != nil || f == nil {
		return 0, err
	}
	kr, err := db.keyring(f, false)
	if err != nil || kr == nil {
		db.release(f)
		return 0, err
	}
	n, counted := 0, false
	err = f.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(executedCountsBucket)
		if b == nil {
			return nil
		}
		from := b.Get(countsFrom)
		if len(from) != 8 || int64(binary.BigEndian.Uint64(from)) > day.UnixNano() {
			return nil
		}
		counted = true
		if v := b.Get(countKey(kr, countDay(day), requesterUPN, action)); len(v) == 8 {
			n = int(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	db.release(f)
	if err != nil || counted {
		return n, err
	}
	err = db.Audit(ctx, tenant, day, func(ev tierzero.AuditEvent) error {
		if ev.Kind == tierzero.AuditExecuted && ev.Outcome == "ok" && ev.Tool == action && ev.Requester == requesterUPN {
			n++
		}
		return nil
	})
	if tierzero.ErrorCode(err) == tierzero.ENotFound {
		return 0, nil
	}
	return n, err
}
