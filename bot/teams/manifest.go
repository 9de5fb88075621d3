package teams

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"regexp"
	"strings"
	"time"
)

// The Teams app package: manifest.json and two icons, zipped, which an
// admin uploads (Teams admin center, Manage apps, Upload).

// ManifestVersion is the version of the Teams app manifest schema written.
const ManifestVersion = "1.19"

// PackageConfig is what the app package says about the app.
type PackageConfig struct {
	// AppID is the bot's Microsoft App id: the bot id and the app id.
	AppID       string
	Name        string // short name, at most 30 characters; default tierzero
	Developer   string // the publisher (the MSP); default tierzero
	WebsiteURL  string // https URLs of the publisher
	PrivacyURL  string
	TermsURL    string
	Version     string // the app's version, x.y.z; default 1.0.0
	AccentColor string // #RRGGBB; default #2B579A
}

var (
	guidRE    = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	semverRE  = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
	colorRE   = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
	defaultPk = PackageConfig{Name: "tierzero", Developer: "tierzero", Version: "1.0.0", AccentColor: "#2B579A",
		WebsiteURL: "https://github.com/tierzero/tierzero", PrivacyURL: "https://github.com/tierzero/tierzero",
		TermsURL: "https://github.com/tierzero/tierzero"}
)

// ValidGUID reports whether s is a GUID (an app or tenant id).
func ValidGUID(s string) bool { return guidRE.MatchString(s) }

func (c PackageConfig) withDefaults() PackageConfig {
	or := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	or(&c.Name, defaultPk.Name)
	or(&c.Developer, defaultPk.Developer)
	or(&c.Version, defaultPk.Version)
	or(&c.AccentColor, defaultPk.AccentColor)
	or(&c.WebsiteURL, defaultPk.WebsiteURL)
	or(&c.PrivacyURL, defaultPk.PrivacyURL)
	or(&c.TermsURL, defaultPk.TermsURL)
	return c
}

func (c PackageConfig) check() error {
	var errs []error
	if !ValidGUID(c.AppID) {
		errs = append(errs, fmt.Errorf("app id %q is not a GUID", c.AppID))
	}
	if n := len([]rune(c.Name)); n == 0 || n > 30 {
		errs = append(errs, fmt.Errorf("name %q: want 1 to 30 characters", c.Name))
	}
	if len([]rune(c.Developer)) > 32 {
		errs = append(errs, fmt.Errorf("developer %q: want at most 32 characters", c.Developer))
	}
	if !semverRE.MatchString(c.Version) {
		errs = append(errs, fmt.Errorf("version %q: want x.y.z", c.Version))
	}
	if !colorRE.MatchString(c.AccentColor) {
		errs = append(errs, fmt.Errorf("accent color %q: want #RRGGBB", c.AccentColor))
	}
	for name, u := range map[string]string{"website": c.WebsiteURL, "privacy": c.PrivacyURL, "terms": c.TermsURL} {
		if !strings.HasPrefix(u, "https://") || len(u) > 2048 {
			errs = append(errs, fmt.Errorf("%s URL %q: want an https URL", name, u))
		}
	}
	return errors.Join(errs...)
}

// manifest is the app manifest, its fields in the schema's order.
type manifest struct {
	Schema          string `json:"$schema"`
	ManifestVersion string `json:"manifestVersion"`
	Version         string `json:"version"`
	ID              string `json:"id"`
	Developer       struct {
		Name          string `json:"name"`
		WebsiteURL    string `json:"websiteUrl"`
		PrivacyURL    string `json:"privacyUrl"`
		TermsOfUseURL string `json:"termsOfUseUrl"`
	} `json:"developer"`
	Name struct {
		Short string `json:"short"`
		Full  string `json:"full"`
	} `json:"name"`
	Description struct {
		Short string `json:"short"`
		Full  string `json:"full"`
	} `json:"description"`
	Icons struct {
		Color   string `json:"color"`
		Outline string `json:"outline"`
	} `json:"icons"`
	AccentColor  string        `json:"accentColor"`
	Bots         []manifestBot `json:"bots"`
	Permissions  []string      `json:"permissions"`
	ValidDomains []string      `json:"validDomains"`
}

type manifestBot struct {
	BotID              string   `json:"botId"`
	Scopes             []string `json:"scopes"`
	SupportsFiles      bool     `json:"supportsFiles"`
	IsNotificationOnly bool     `json:"isNotificationOnly"`
}

// Manifest returns manifest.json of the app.
func Manifest(c PackageConfig) ([]byte, error) {
	c = c.withDefaults()
	if err := c.check(); err != nil {
		return nil, err
	}
	var m manifest
	m.Schema = "https://developer.microsoft.com/json-schemas/teams/v" + ManifestVersion + "/MicrosoftTeams.schema.json"
	m.ManifestVersion = ManifestVersion
	m.Version = c.Version
	m.ID = strings.ToLower(c.AppID)
	m.Developer.Name, m.Developer.WebsiteURL, m.Developer.PrivacyURL, m.Developer.TermsOfUseURL =
		c.Developer, c.WebsiteURL, c.PrivacyURL, c.TermsURL
	m.Name.Short, m.Name.Full = c.Name, c.Name+": IT help desk"
	m.Description.Short = "Your IT helper: password resets, MFA and account fixes, under policy."
	m.Description.Full = "Describe an IT problem in your own words. " + c.Name + " checks your Microsoft 365 account, " +
		"fixes what policy allows (a forgotten password, a lost authenticator), asks your manager or an admin to approve " +
		"what needs approval, and hands anything else to your IT support with the details. Passwords and codes are " +
		"delivered only in your personal chat with the bot. Every action is checked by policy and recorded in an audit trail."
	m.Icons.Color, m.Icons.Outline = "color.png", "outline.png"
	m.AccentColor = strings.ToUpper(c.AccentColor)
	m.Bots = []manifestBot{{BotID: strings.ToLower(c.AppID), Scopes: []string{"personal", "team"}}}
	m.Permissions = []string{"identity", "messageTeamMembers"}
	m.ValidDomains = []string{}
	return json.MarshalIndent(m, "", "  ")
}

// WritePackage writes the app package (a zip of manifest.json, color.png
// and outline.png) to w.
func WritePackage(w io.Writer, c PackageConfig) error {
	man, err := Manifest(c)
	if err != nil {
		return err
	}
	c = c.withDefaults()
	accent, _ := parseColor(c.AccentColor)
	colorPNG, err := encodePNG(colorIcon(accent))
	if err != nil {
		return err
	}
	outlinePNG, err := encodePNG(outlineIcon())
	if err != nil {
		return err
	}
	z := zip.NewWriter(w)
	stamp := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) // reproducible
	for _, f := range []struct {
		name string
		b    []byte
	}{{"manifest.json", man}, {"color.png", colorPNG}, {"outline.png", outlinePNG}} {
		fw, err := z.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: stamp})
		if err != nil {
			return err
		}
		if _, err := fw.Write(f.b); err != nil {
			return err
		}
	}
	return z.Close()
}

func parseColor(s string) (color.NRGBA, error) {
	var r, g, b uint8
	if _, err := fmt.Sscanf(strings.TrimPrefix(s, "#"), "%02x%02x%02x", &r, &g, &b); err != nil {
		return color.NRGBA{}, err
	}
	return color.NRGBA{r, g, b, 255}, nil
}

func encodePNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// colorIcon is the 192x192 full-color icon: a white ring with a bar (a
// zero struck through, "tier zero") on the accent color.
func colorIcon(accent color.NRGBA) image.Image {
	const size = 192
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	white := color.NRGBA{255, 255, 255, 255}
	for y := range size {
		for x := range size {
			img.SetNRGBA(x, y, accent)
			if mark(float64(x)+0.5, float64(y)+0.5, size) {
				img.SetNRGBA(x, y, white)
			}
		}
	}
	return img
}

// outlineIcon is the 32x32 outline icon: the same mark, white on
// transparent, as Teams requires.
func outlineIcon() image.Image {
	const size = 32
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		for x := range size {
			if mark(float64(x)+0.5, float64(y)+0.5, size) {
				img.SetNRGBA(x, y, color.NRGBA{255, 255, 255, 255})
			}
		}
	}
	return img
}

// mark reports whether (x, y) of a size x size icon is on the mark: an
// upright oval ring and a diagonal bar through it.
func mark(x, y float64, size int) bool {
	s := float64(size)
	cx, cy := s/2, s/2
	dx, dy := (x-cx)/(0.28*s), (y-cy)/(0.38*s)
	r := math.Hypot(dx, dy)
	ring := r <= 1 && r >= 0.68
	// the bar, from lower left to upper right, inside the ring's box
	d := math.Abs((x-cx)+(y-cy)) / math.Sqrt2
	bar := d <= 0.045*s && math.Abs(x-cx) <= 0.22*s && math.Abs(y-cy) <= 0.3*s
	return ring || bar
}
