package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/pages"
)

// pageConfig holds the settings of the pages for people (/signup,
// /signin, /account); its flags are declared in flagTable.
type pageConfig struct {
	signup      bool
	productName string
	customCSS   string
	logo        string

	css, logoBytes []byte // Read by load.
	logoType       string
}

// load reads the operator's CSS and logo files and checks the logo's type.
func (pc *pageConfig) load() error {
	if pc.customCSS != "" {
		b, err := os.ReadFile(pc.customCSS)
		if err != nil {
			return fmt.Errorf("--custom-css: %w", err)
		}
		pc.css = b
	}
	if pc.logo != "" {
		typ, ok := logoTypes[strings.ToLower(filepath.Ext(pc.logo))]
		if !ok {
			return fmt.Errorf("--logo: %s is not a .png, .svg, .jpg, .webp or .gif file", pc.logo)
		}
		b, err := os.ReadFile(pc.logo)
		if err != nil {
			return fmt.Errorf("--logo: %w", err)
		}
		pc.logoBytes, pc.logoType = b, typ
	}
	return nil
}

// logoTypes are the image types the pages' CSP lets a logo be; an SVG is
// served as an image, where its scripts never run.
var logoTypes = map[string]string{
	".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg",
	".jpeg": "image/jpeg", ".webp": "image/webp", ".gif": "image/gif",
}

// handler wraps the API with the pages, with the files load read.
func (pc *pageConfig) handler(api http.Handler, svc *restauth.Service, logger *slog.Logger, tls bool, proxies []netip.Prefix) (http.Handler, error) {
	cfg := pages.Config{ProductName: pc.productName, NoSignup: !pc.signup, TLS: tls, TrustedProxies: proxies,
		CustomCSS: pc.css, Logo: pc.logoBytes, LogoType: pc.logoType}
	return pages.NewServer(cfg, pages.Deps{Service: svc, Logger: logger}, api), nil
}
