package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/tierzero/tierzero/bot/teams"
)

// teamsCommand groups the Teams commands.
func (a *app) teamsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "teams",
		Short: "Microsoft Teams: the app package an admin uploads",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(a.teamsPackageCommand())
	return cmd
}

func (a *app) teamsPackageCommand() *cobra.Command {
	var configFile, out string
	var pc teams.PackageConfig
	cmd := &cobra.Command{
		Use:   "package --config FILE [-o tierzero-teams.zip]",
		Short: "Write the Teams app package (manifest.json and two icons, zipped) for the bot of the configuration",
		Long: `package writes the Teams app package of the bot that the configuration's teams section
registers (teams.app_id): manifest.json (manifest version ` + teams.ManifestVersion + `; the bot in the personal and
team scopes) and its two icons, zipped. Upload it in the Teams admin center (Teams apps,
Manage apps, Upload new app), or in Teams (Apps, Manage your apps, Upload an app).
The README (Chat channels, Microsoft Teams) walks through the whole setup.`,
		Example: `  tierzero teams package --config tierzero.yaml -o tierzero-teams.zip`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			configFile = a.configPath(configFile)
			if configFile == "" {
				return usageError{errors.New("--config is required: the file whose teams section names the bot")}
			}
			c, err := loadConfig(configFile)
			if err != nil {
				return err
			}
			if c.Teams == nil {
				return fmt.Errorf("%s has no teams section: add teams: {app_id: ..., app_password_env: ..., app_tenant: ...}", configFile)
			}
			pc.AppID = c.Teams.AppID
			var buf bytes.Buffer
			if err := teams.WritePackage(&buf, pc); err != nil {
				return usageError{fmt.Errorf("teams package: %w", err)}
			}
			if err := writeFileAtomic(out, buf.Bytes()); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "wrote %s: the Teams app of bot %s (manifest %s, personal and team scopes).\n"+
				"Upload it in the Teams admin center: Teams apps, Manage apps, Upload new app.\n", out, c.Teams.AppID, teams.ManifestVersion)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&configFile, "config", "", "configuration file with a teams section (default $TIERZERO_CONFIG)")
	f.StringVarP(&out, "output", "o", "tierzero-teams.zip", "the package to write")
	f.StringVar(&pc.Name, "name", "", "the app's name in Teams, at most 30 characters (default tierzero)")
	f.StringVar(&pc.Developer, "developer", "", "the publisher shown in Teams, e.g. your MSP (default tierzero)")
	f.StringVar(&pc.WebsiteURL, "website", "", "the publisher's website, https (default the project's)")
	f.StringVar(&pc.PrivacyURL, "privacy", "", "the privacy statement, https (default the project's)")
	f.StringVar(&pc.TermsURL, "terms", "", "the terms of use, https (default the project's)")
	f.StringVar(&pc.Version, "version", "", "the app's version, x.y.z: raise it to update an uploaded app (default 1.0.0)")
	f.StringVar(&pc.AccentColor, "accent", "", "the icon's background color, #RRGGBB (default #2B579A)")
	return cmd
}

// writeFileAtomic writes b to path through a temporary file in the same
// directory, so that a failure leaves no half-written package.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tierzero-teams-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
