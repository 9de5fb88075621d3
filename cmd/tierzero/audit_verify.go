package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/store"
)

func (a *app) auditVerifyCommand() *cobra.Command {
	var tenant, data string
	cmd := &cobra.Command{
		Use:   "verify --tenant T",
		Short: "Check that a tenant's audit trail is complete and unaltered",
		Long: `verify walks the tenant's hash-chained audit trail and checks it against the head recorded
outside the tenant's file. It prints "ok N records", or names the first bad record (altered,
missing, reordered, or cut off at the end) and exits 1. It needs no key: it works without the
master key and after a shred.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tenant == "" {
				return usageError{errors.New("audit verify needs --tenant")}
			}
			t := tierzero.TenantID(tenant)
			if err := tierzero.ValidTenantID(t); err != nil {
				return usageError{err}
			}
			db, err := a.openKeyless(a.dataDir(data))
			if err != nil {
				return err
			}
			defer a.closeDB(db)
			n, err := db.Verify(cmd.Context(), t)
			var ce *store.ChainError
			if errors.As(err, &ce) {
				fmt.Fprintf(a.stdout, "bad record %d: %s (%d records before it are good)\n", ce.Seq, ce.Reason, n)
				return fmt.Errorf("audit trail of tenant %s fails verification at record %d", t, ce.Seq)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "ok %d records\n", n)
			return nil
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "tenant id")
	cmd.Flags().StringVar(&data, "data", "", "data directory (default $TIERZERO_DATA or ./tierzero-data)")
	return cmd
}
