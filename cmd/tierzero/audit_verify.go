package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/store"
)

// tenantFlag returns the validated --tenant of an audit command.
func tenantFlag(cmd, tenant string) (tierzero.TenantID, error) {
	if tenant == "" {
		return "", usageError{fmt.Errorf("audit %s needs --tenant", cmd)}
	}
	t := tierzero.TenantID(tenant)
	if err := tierzero.ValidTenantID(t); err != nil {
		return "", usageError{err}
	}
	return t, nil
}

// openWithMaster opens an existing data directory with the master key, or
// lends the running server's store.
func (a *app) openWithMaster(dir string) (*store.DB, error) {
	if a.shared != nil {
		return a.shared.db, nil
	}
	if _, err := os.Stat(filepath.Join(dir, "tenants")); err != nil {
		return nil, fmt.Errorf("no tierzero data in %s: %w", dir, err)
	}
	key, _, err := a.masterKey(dir, false)
	if err != nil {
		return nil, err
	}
	db, err := a.storeAt(dir, store.Options{Logger: a.log, MasterKey: key})
	if err != nil {
		return nil, fmt.Errorf("open data directory %s: %w", dir, err)
	}
	return db, nil
}

func (a *app) auditVerifyCommand() *cobra.Command {
	var tenant, data, keyText, kept string
	cmd := &cobra.Command{
		Use:   "verify --tenant T [--key KEY] [--head N:HASH]",
		Short: "Check that a tenant's file and audit trail are whole, complete and unaltered",
		Long: `verify checks the tenant's whole file (bbolt's consistency check of every page) and walks its
audit trail: every record's link and hash, the signatures made with the tenant's audit key, and
the signed head recorded outside the tenant's file. It prints "ok N records" and the head (record
and hash: keep it, a later verify must show a chain that extends it), or names the first bad
record (altered, missing, reordered, forged, cut off at the end, or another tenant's) and exits 1.
With --head N:HASH (a head printed by an earlier verify) it also checks that record N still has
that hash: a chain rewritten since, even by someone holding the master key, or rolled back
together with its head file, fails.

It needs the master key ($TIERZERO_MASTER_KEY or <data>/master.key), or --key: the tenant's
verification key, which tierzero audit verify-key prints. With --key an auditor verifies
without the master key, and can read nothing and sign nothing. It works after a shred.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := tenantFlag("verify", tenant)
			if err != nil {
				return err
			}
			var keptSeq uint64
			var keptHash string
			if kept != "" {
				n, h, ok := strings.Cut(kept, ":")
				seq, err := strconv.ParseUint(n, 10, 64)
				if !ok || err != nil || seq == 0 || len(h) != 64 {
					return usageError{fmt.Errorf("--head %q: want N:HASH as audit verify printed it (record N, 64 hex digits)", kept)}
				}
				keptSeq, keptHash = seq, strings.ToLower(h)
			}
			var key []byte
			if keyText != "" {
				if key, err = store.ParseAuditKey(keyText); err != nil {
					return usageError{err}
				}
			}
			dir := a.dataDir(data)
			db, err := a.openKeyless(dir)
			if err != nil {
				return err
			}
			if key == nil && a.shared == nil {
				a.closeDB(db)
				if db, err = a.openWithMaster(dir); err != nil {
					return fmt.Errorf("%w\naudit verify needs the master key, or the tenant's verification key: tierzero audit verify --tenant %s --key KEY (tierzero audit verify-key --tenant %s prints it)", err, t, t)
				}
			}
			defer a.closeDB(db)
			v, err := db.VerifyAudit(cmd.Context(), t, key)
			var ce *store.ChainError
			if errors.As(err, &ce) {
				fmt.Fprintf(a.stdout, "bad record %d: %s (%d records before it are good)\n", ce.Seq, ce.Reason, v.Records)
				return fmt.Errorf("audit trail of tenant %s fails verification at record %d", t, ce.Seq)
			}
			if err != nil {
				return err
			}
			if keptSeq > 0 {
				sum, err := db.RecordHash(cmd.Context(), t, keptSeq)
				if errors.As(err, &ce) || (err == nil && fmt.Sprintf("%x", sum) != keptHash) {
					fmt.Fprintf(a.stdout, "bad record %d: not the record the kept head names (hash %s): the chain was rewritten or rolled back since\n", keptSeq, keptHash)
					return fmt.Errorf("audit trail of tenant %s fails verification at record %d", t, keptSeq)
				}
				if err != nil {
					return err
				}
			}
			fmt.Fprintf(a.stdout, "ok %d records\n", v.Records)
			if v.Head > 0 {
				fmt.Fprintf(a.stdout, "head: %d:%x\n", v.Head, v.HeadHash)
			}
			if v.Unsigned > 0 {
				fmt.Fprintf(a.stdout, "records 1 to %d were written before audit records were signed: they are anchored by the signed start written by tierzero audit upgrade, not signed one by one\n", v.Unsigned)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "tenant id")
	cmd.Flags().StringVar(&keyText, "key", "", "the tenant's audit verification key (tzak1:...), instead of the master key")
	cmd.Flags().StringVar(&kept, "head", "", "a head N:HASH printed by an earlier verify, which the chain must still hold")
	cmd.Flags().StringVar(&data, "data", "", "data directory (default $TIERZERO_DATA or ./tierzero-data)")
	return cmd
}

func (a *app) auditVerifyKeyCommand() *cobra.Command {
	var tenant, data string
	cmd := &cobra.Command{
		Use:   "verify-key --tenant T",
		Short: "Print a tenant's audit verification key, for an auditor",
		Long: `verify-key prints the tenant's audit verification key (tzak1:...): the public half of the
key that signs the tenant's audit records and head. Give it to an auditor, who runs
tierzero audit verify --tenant T --key KEY on a copy of the data directory without the master
key. It verifies that tenant's chain only; it cannot sign a record or read a value. It needs
the master key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := tenantFlag("verify-key", tenant)
			if err != nil {
				return err
			}
			db, err := a.openWithMaster(a.dataDir(data))
			if err != nil {
				return err
			}
			defer a.closeDB(db)
			key, err := db.AuditKey(cmd.Context(), t)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, store.EncodeAuditKey(key))
			return nil
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "tenant id")
	cmd.Flags().StringVar(&data, "data", "", "data directory (default $TIERZERO_DATA or ./tierzero-data)")
	return cmd
}

func (a *app) auditUpgradeCommand() *cobra.Command {
	var tenant, data string
	cmd := &cobra.Command{
		Use:   "upgrade [--tenant T]",
		Short: "Sign the audit chains written by tierzero before audit records were signed (once)",
		Long: `upgrade is a one-time step after upgrading from a tierzero that did not sign audit records.
For each tenant (or the one given), it checks the unsigned chain against its head as before,
gives the tenant an audit key, writes a signed head and a signed start naming the hash of the
chain's last record, so those records cannot change from then on; new records are signed.
Until then tierzero refuses to extend an unsigned chain. A chain that fails the check is not
upgraded (restore it, or keep it as evidence). Approvals stored before the upgrade can no
longer be decided or run; they must be asked for again. Run it once: a tenant that asks for it
again later had its signed start removed. It needs the master key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := a.openWithMaster(a.dataDir(data))
			if err != nil {
				return err
			}
			defer a.closeDB(db)
			var tenants []tierzero.TenantID
			if tenant != "" {
				t, err := tenantFlag("upgrade", tenant)
				if err != nil {
					return err
				}
				tenants = []tierzero.TenantID{t}
			} else if tenants, err = db.Tenants(); err != nil {
				return err
			}
			failed := 0
			for _, t := range tenants {
				up, err := db.UpgradeAudit(cmd.Context(), t)
				switch {
				case err != nil:
					failed++
					fmt.Fprintf(a.stdout, "tenant %s: not upgraded: %v\n", t, err)
				case up.Already:
					fmt.Fprintf(a.stdout, "tenant %s: already signed\n", t)
				case up.Anchored == 0:
					fmt.Fprintf(a.stdout, "tenant %s: signed from its first record\n", t)
				default:
					fmt.Fprintf(a.stdout, "tenant %s: records 1 to %d anchored; records from %d on are signed\n", t, up.Anchored, up.Anchored+1)
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d tenants not upgraded", failed, len(tenants))
			}
			return a.closeDB(db)
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "tenant id (default: every tenant)")
	cmd.Flags().StringVar(&data, "data", "", "data directory (default $TIERZERO_DATA or ./tierzero-data)")
	return cmd
}
