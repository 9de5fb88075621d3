package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/graph"
	"github.com/tierzero/tierzero/store"
)

const (
	masterKeyEnv    = "TIERZERO_MASTER_KEY"
	newMasterKeyEnv = "TIERZERO_NEW_MASTER_KEY"
	masterKeyFile   = "master.key"
)

// masterKey returns the master key: $TIERZERO_MASTER_KEY, else the key file
// <data>/master.key (refused when group or others may read it). With create,
// a data directory that has neither a key nor tenant data gets a new key
// file, and stderr says so once. fromFile reports where the key came from.
func (a *app) masterKey(dir string, create bool) (key []byte, fromFile bool, err error) {
	if s := a.getenv(masterKeyEnv); s != "" {
		k, err := store.ParseMasterKey(s)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", masterKeyEnv, err)
		}
		return k, false, nil
	}
	path := filepath.Join(dir, masterKeyFile)
	k, err := store.ReadKeyFile(path)
	if err == nil {
		return k, true, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	if hasTenantData(dir) {
		return nil, false, fmt.Errorf("no master key: %s is not set and %s does not exist, but %s holds tenant data: set %s or restore the key file",
			masterKeyEnv, path, dir, masterKeyEnv)
	}
	if !create {
		return nil, false, fmt.Errorf("no master key: %s is not set and %s does not exist", masterKeyEnv, path)
	}
	k = store.NewMasterKey()
	if err := store.WriteKeyFile(path, k); err != nil {
		return nil, false, err
	}
	fmt.Fprintf(a.stderr, "tierzero: created a new master key at %s; back it up: without it the data in %s cannot be read\n", path, dir)
	return k, true, nil
}

// hasTenantData reports whether dir holds any tenant file.
func hasTenantData(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "tenants", "*.db"))
	return len(m) > 0
}

// openKeyless opens an existing data directory without the master key, for
// the commands that need none (audit verify, tenant shred).
func (a *app) openKeyless(dir string) (*store.DB, error) {
	if a.shared != nil {
		return a.shared.db, nil
	}
	if _, err := os.Stat(filepath.Join(dir, "tenants")); err != nil {
		return nil, fmt.Errorf("no tierzero data in %s: %w", dir, err)
	}
	db, err := store.Open(dir, store.Options{Logger: a.log})
	if err != nil {
		return nil, fmt.Errorf("open data directory %s: %w", dir, err)
	}
	return db, nil
}

// storeAt opens the data directory with opts, or lends the store of the
// running server an operator command was sent to (see admin.go).
func (a *app) storeAt(dir string, opts store.Options) (*store.DB, error) {
	if a.shared != nil {
		return a.shared.db, nil
	}
	return store.Open(dir, opts)
}

// closeDB closes a store this command opened; a lent one stays open.
func (a *app) closeDB(db *store.DB) error {
	if a.shared != nil && db == a.shared.db {
		return nil
	}
	return db.Close()
}

func tenantArg(args []string) (tierzero.TenantID, error) {
	t := tierzero.TenantID(args[0])
	if err := tierzero.ValidTenantID(t); err != nil {
		return "", usageError{err}
	}
	return t, nil
}

func (a *app) tenantCommand() *cobra.Command {
	var data string
	cmd := &cobra.Command{
		Use:   "tenant",
		Short: "Manage tenants: add one, sign-in and encryption keys",
		Long: `Each tenant's data (conversations, audit events, intents) is encrypted with the tenant's
own data keys, kept in its file and wrapped by the master key ($TIERZERO_MASTER_KEY, else
<data>/master.key).`,
	}
	cmd.PersistentFlags().StringVar(&data, "data", "", "data directory (default $TIERZERO_DATA or ./tierzero-data)")

	rotateKey := &cobra.Command{
		Use:   "rotate-key TENANT",
		Short: "Start a new data key for a tenant",
		Long: `rotate-key starts a new data key for the tenant: new values are encrypted with it, and
values encrypted with older keys stay readable (each names its key).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := tenantArg(args)
			if err != nil {
				return err
			}
			dir := a.dataDir(data)
			key, _, err := a.masterKey(dir, false)
			if err != nil {
				return err
			}
			db, err := a.storeAt(dir, store.Options{Logger: a.log, MasterKey: key})
			if err != nil {
				return err
			}
			defer a.closeDB(db)
			id, err := db.RotateKey(cmd.Context(), t)
			if err != nil {
				return err
			}
			older := fmt.Sprintf("key %d", id-1)
			if id > 2 {
				older = fmt.Sprintf("keys 1 to %d", id-1)
			}
			fmt.Fprintf(a.stdout, "tenant %s: data key %d now encrypts new values; values under %s stay readable\n", t, id, older)
			return a.closeDB(db)
		},
	}

	rotateMaster := &cobra.Command{
		Use:   "rotate-master",
		Short: "Re-wrap every tenant's data keys with a new master key",
		Long: `rotate-master re-wraps the data keys of every tenant with a new master key: the one in
$TIERZERO_NEW_MASTER_KEY, else a new random key written to <data>/master.key.new. The current
master key comes from $TIERZERO_MASTER_KEY, else <data>/master.key; when it came from the
file, the file is replaced by the new key. If the rotation stops part way, run it again: it
picks up <data>/master.key.new and finishes. Afterwards the old key opens nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := a.dataDir(data)
			oldKey, fromFile, err := a.masterKey(dir, false)
			if err != nil {
				return err
			}
			newPath := filepath.Join(dir, masterKeyFile+".new")
			var newKey []byte
			source := ""
			if s := a.getenv(newMasterKeyEnv); s != "" {
				if newKey, err = store.ParseMasterKey(s); err != nil {
					return fmt.Errorf("%s: %w", newMasterKeyEnv, err)
				}
				source = newMasterKeyEnv
			} else if newKey, err = store.ReadKeyFile(newPath); err == nil {
				source = newPath + " (left by an unfinished rotation)"
			} else if errors.Is(err, fs.ErrNotExist) {
				newKey = store.NewMasterKey()
				if err := store.WriteKeyFile(newPath, newKey); err != nil {
					return err
				}
				source = newPath + " (new)"
			} else {
				return err
			}
			if bytes.Equal(newKey, oldKey) {
				return usageError{errors.New("the new master key is the current one")}
			}
			db, err := a.storeAt(dir, store.Options{Logger: a.log, MasterKey: oldKey})
			if err != nil {
				return err
			}
			n, err := db.RotateMaster(cmd.Context(), newKey)
			if cerr := a.closeDB(db); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("%w; %d tenants were re-wrapped with the new key from %s: run tierzero tenant rotate-master again to finish", err, n, source)
			}
			fp := store.KeyFingerprint(newKey)
			if !fromFile {
				fmt.Fprintf(a.stdout, "master key rotated: %d tenants re-wrapped with the new key (fingerprint %s) from %s.\n", n, fp, source)
				if source != newMasterKeyEnv {
					fmt.Fprintf(a.stdout, "Set %s to the contents of %s, back it up, then delete the file.\n", masterKeyEnv, newPath)
				} else {
					fmt.Fprintf(a.stdout, "Set %s to the new key; the old one opens nothing any more.\n", masterKeyEnv)
				}
				return nil
			}
			if source == newMasterKeyEnv { // the file must hold the env's key
				os.Remove(newPath)
				if err := store.WriteKeyFile(newPath, newKey); err != nil {
					return err
				}
			}
			path := filepath.Join(dir, masterKeyFile)
			if err := os.Rename(newPath, path); err != nil {
				return fmt.Errorf("the tenants are re-wrapped but %s could not replace %s: %w; move it there by hand", newPath, path, err)
			}
			if d, err := os.Open(dir); err == nil {
				d.Sync()
				d.Close()
			}
			fmt.Fprintf(a.stdout, "master key rotated: %d tenants re-wrapped; the new key (fingerprint %s) replaced %s. Back it up; the old key opens nothing any more.\n", n, fp, path)
			return nil
		},
	}

	var yes bool
	shred := &cobra.Command{
		Use:   "shred TENANT",
		Short: "Destroy a tenant's keys: its data becomes unreadable for good",
		Long: `shred destroys every data key of the tenant, so that its conversations, audit events and
intents can never be read again, nor what other tenants' files hold about it under its key (an
MSP technician's conversations and their audit records); other tenants' own data is untouched.
The audit chain still verifies (tierzero audit verify), and later writes for the tenant are
refused. The tenant's file is
compacted and the old file overwritten. Backups and storage that keeps old blocks may still
hold the keys wrapped by the master key: rotate the master key afterwards to make them
useless. Asks for the tenant id as confirmation unless --yes.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := tenantArg(args)
			if err != nil {
				return err
			}
			dir := a.dataDir(data)
			if !yes {
				fmt.Fprintf(a.stdout, "This destroys every key of tenant %s in %s: its conversations, audit events and intents become unreadable for good.\nType the tenant id to confirm: ", t, dir)
				line, _ := bufio.NewReader(a.stdin).ReadString('\n')
				if strings.TrimSpace(line) != string(t) {
					fmt.Fprintln(a.stdout)
					return errors.New("not confirmed; nothing was shredded")
				}
			}
			db, err := a.openKeyless(dir)
			if err != nil {
				return err
			}
			defer a.closeDB(db)
			n, err := db.Shred(cmd.Context(), t)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "tenant %s shredded: %d data keys and its index key destroyed; its stored values can no longer be read.\n", t, n)
			fmt.Fprintf(a.stdout, "The audit chain still verifies (tierzero audit verify --tenant %s). Rotate the master key (tierzero tenant rotate-master) to make copies of the keys in backups useless.\n", t)
			return a.closeDB(db)
		},
	}
	shred.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation")

	cmd.AddCommand(rotateKey, rotateMaster, shred, a.loginCommand(&data), a.tenantAddCommand())
	return cmd
}

// refreshTokenName is the credential under which a tenant's delegated Graph
// refresh token is stored, sealed with the tenant's key.
const refreshTokenName = "graph_refresh_token"

func (a *app) loginCommand(data *string) *cobra.Command {
	var configFile string
	return &cobra.Command{
		Use:   "login TENANT --config FILE",
		Short: "Sign in to a tenant's Graph as an admin (device code), for delegated access",
		Long: `login runs the OAuth device-code flow for a tenant whose auth.method is delegated in the
configuration file: it prints a code and a URL; an admin of the tenant signs in there. The
refresh token is stored encrypted in that tenant's own store and rotated as it is used;
tierzero then acts with the admin's delegated permissions, under tierzero's policies.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := tenantArg(args)
			if err != nil {
				return err
			}
			configFile = a.configPath(configFile)
			if configFile == "" {
				return usageError{errors.New("login needs --config (or $TIERZERO_CONFIG)")}
			}
			c, err := loadConfig(configFile)
			if err != nil {
				return err
			}
			tc, ok := c.Tenants[t]
			if !ok || tc.Auth.Method != authDelegated {
				return fmt.Errorf("tenant %s has no delegated auth in %s", t, configFile)
			}
			db, err := a.openStore(a.dataDir(*data))
			if err != nil {
				return err
			}
			defer a.closeDB(db)
			rt, err := graph.DeviceCodeLogin(cmd.Context(), authConfigOf(t, tc), func(code, uri, msg string) {
				if msg == "" {
					msg = fmt.Sprintf("To sign in, open %s and enter the code %s.", uri, code)
				}
				fmt.Fprintln(a.stdout, msg)
			})
			if err != nil {
				return fmt.Errorf("sign in to %s: %w", t, err)
			}
			if err := db.PutCredential(cmd.Context(), t, refreshTokenName, rt); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Signed in: tenant %s now uses delegated access; the refresh token is stored encrypted in its store.\n", t)
			return a.closeDB(db)
		},
	}
}
