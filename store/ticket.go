package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/tierzero/tierzero"
	bolt "go.etcd.io/bbolt"
)

// The tickets bucket is the durable ticket outbox of issue 19: each
// escalation's ticket, from the hand-over to the technician's close,
// HMAC(index key, correlation id) to the sealed JSON of a
// tierzero.TicketRecord. It also maps a ticket back to its conversation
// (the escalation's requester and conversation) for the vendor's updates.
var ticketsBucket = []byte("tickets")

func validCorrelation(id string) error {
	if id == "" || len(id) > maxIDLen {
		return tierzero.Errorf(tierzero.EInvalid, "invalid ticket correlation id: want 1 to %d bytes", maxIDLen)
	}
	return nil
}

func checkTicket(tenant tierzero.TenantID, r tierzero.TicketRecord) error {
	if r.Ticket.Escalation.Tenant != tenant {
		return tierzero.Errorf(tierzero.EInvalid, "ticket of tenant %q stored for tenant %q", r.Ticket.Escalation.Tenant, tenant)
	}
	return validCorrelation(r.Correlation())
}

// AddTicket stores r in tenant's ticket outbox unless a ticket with its
// correlation id is there already, and syncs it: added is false, and
// nothing changes, for an escalation handed over twice. A zero r.Created is
// set to Now.
func (db *DB) AddTicket(ctx context.Context, tenant tierzero.TenantID, r tierzero.TicketRecord) (added bool, err error) {
	return db.putTicket(ctx, tenant, r, false, "", 0)
}

// PutTicket stores r in tenant's ticket outbox, replacing the record with
// the same correlation id, and syncs it.
func (db *DB) PutTicket(ctx context.Context, tenant tierzero.TenantID, r tierzero.TicketRecord) error {
	_, err := db.putTicket(ctx, tenant, r, true, "", 0)
	return err
}

// UpdateTicket stores r as PutTicket does, if delivery (a callback's
// delivery id) is seen for the first time within ttl (see Dedupe): the
// check and the write are one transaction, so a delivery whose record could
// not be written is not taken as seen (its retry is applied), and one
// delivered twice is stored once (first is false the second time).
func (db *DB) UpdateTicket(ctx context.Context, tenant tierzero.TenantID, r tierzero.TicketRecord, delivery string, ttl time.Duration) (first bool, err error) {
	if delivery == "" || len(delivery) > maxIDLen {
		return false, tierzero.Errorf(tierzero.EInvalid, "invalid delivery id: want 1 to %d bytes", maxIDLen)
	}
	if ttl <= 0 {
		return false, tierzero.Errorf(tierzero.EInvalid, "dedupe ttl must be positive")
	}
	return db.putTicket(ctx, tenant, r, true, delivery, ttl)
}

// putTicket stores r (over the record of its correlation id when replace),
// once per delivery when one is given; stored reports whether it did.
func (db *DB) putTicket(ctx context.Context, tenant tierzero.TenantID, r tierzero.TicketRecord, replace bool, delivery string, ttl time.Duration) (stored bool, err error) {
	if err := checkTicket(tenant, r); err != nil {
		return false, err
	}
	f, err := db.acquire(ctx, tenant, true)
	if err != nil {
		return false, fmt.Errorf("put ticket: %w", err)
	}
	defer db.release(f)
	kr, err := db.keyring(f, true)
	if err != nil {
		return false, fmt.Errorf("put ticket: %w", err)
	}
	now := db.now()
	if r.Created.IsZero() {
		r.Created = now
	}
	plain, err := json.Marshal(r)
	if err != nil {
		return false, fmt.Errorf("put ticket %s: %w", r.Correlation(), err)
	}
	key := kr.mac(string(ticketsBucket), r.Correlation())
	err = db.write(ctx, f, kr, writeNow, false, func(tx *bolt.Tx, _ *chain) error {
		if delivery != "" {
			first, err := dedupeTx(tx, kr, kr.mac(string(deliveriesBucket), delivery), now, ttl)
			if err != nil || !first {
				return err
			}
		}
		b, err := tx.CreateBucketIfNotExists(ticketsBucket)
		if err != nil {
			return err
		}
		if !replace && b.Get(key) != nil {
			return nil
		}
		sealed, err := kr.seal(ticketsBucket, key, plain)
		if err != nil {
			return err
		}
		stored = true
		return b.Put(key, sealed)
	})
	if err != nil {
		return false, fmt.Errorf("put ticket %s: %w", r.Correlation(), err)
	}
	return stored, nil
}

// Ticket returns the ticket record of a correlation id in tenant's file.
func (db *DB) Ticket(ctx context.Context, tenant tierzero.TenantID, correlation string) (tierzero.TicketRecord, bool, error) {
	if err := validCorrelation(correlation); err != nil {
		return tierzero.TicketRecord{}, false, err
	}
	f, err := db.acquire(ctx, tenant, false)
	if err != nil || f == nil {
		return tierzero.TicketRecord{}, false, wrapNil("ticket", err)
	}
	defer db.release(f)
	kr, err := db.keyring(f, false)
	if err != nil || kr == nil {
		return tierzero.TicketRecord{}, false, wrapNil("ticket", err)
	}
	key := kr.mac(string(ticketsBucket), correlation)
	var r tierzero.TicketRecord
	found := false
	err = f.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(ticketsBucket)
		if b == nil {
			return nil
		}
		v := b.Get(key)
		if v == nil {
			return nil
		}
		plain, err := kr.unseal(ticketsBucket, key, v)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(plain, &r); err != nil {
			return fmt.Errorf("ticket record: %w", err)
		}
		found = true
		return checkTicket(tenant, r)
	})
	if err != nil {
		return tierzero.TicketRecord{}, false, fmt.Errorf("ticket %s: %w", correlation, err)
	}
	return r, found, nil
}

// Tickets returns tenant's ticket records that are not finished (queued or
// opened), oldest first (ties by correlation id). Reading never creates a
// tenant file.
func (db *DB) Tickets(ctx context.Context, tenant tierzero.TenantID) ([]tierzero.TicketRecord, error) {
	f, err := db.acquire(ctx, tenant, false)
	if err != nil || f == nil {
		return nil, wrapNil("tickets", err)
	}
	defer db.release(f)
	kr, err := db.keyring(f, false)
	if err != nil || kr == nil {
		return nil, wrapNil("tickets", err)
	}
	var out []tierzero.TicketRecord
	var bad error
	err = eachRecord(f, kr, ticketsBucket, func(r tierzero.TicketRecord) {
		if err := checkTicket(tenant, r); err != nil {
			bad = cmp.Or(bad, fmt.Errorf("ticket record %s: %w", r.Correlation(), err))
			return
		}
		if r.State != tierzero.TicketFinished {
			out = append(out, r)
		}
	})
	err = cmp.Or(err, bad)
	if err != nil {
		return nil, fmt.Errorf("tickets: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].Correlation() < out[j].Correlation()
	})
	return out, nil
}

func wrapNil(label string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", label, err)
}
