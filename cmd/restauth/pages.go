package main

import (
	"flag"
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
// /signin, /account).
type pageConfig struct {
	signup      bool
	productName string
	customCSS   string
	logo        string
}

// pageFlags declares the pages' flags on fs.
func pageFlags(fs *flag.FlagSet) *pageConfig {
	pc := &pageConfig{}
	fs.BoolVar(&pc.signup, "signup", true, "let people create accounts at /signup (false for invite-only deployments)")
	fs.StringVar(&pc.productName, "product-name", "restauth", "the name shown on the sign-in and account pages")
	fs.StringVar(&pc.customCSS, "custom-css", "", "a CSS file served after the pages' own style sheet")
	fs.StringVar(&pc.logo, "logo", "", "an image file (PNG, SVG, JPEG, WebP or GIF) shown beside the product name")
	return pc
}

// logoTypes are the image types the pages' CSP lets a logo be; an SVG is
// served as an image, where its scripts never run.
var logoTypes = map[string]string{
	".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg",
	".jpeg": "image/jpeg", ".webp": "image/webp", ".gif": "image/gif",
}

// handler wraps the API with the pages, reading the operator's files once.
func (pc *pageConfig) handler(api http.Handler, svc *restauth.Service, logger *slog.Logger, tls bool, proxies []netip.Prefix) (http.Handler, error) {
	cfg := pages.Config{ProductName: pc.productName, NoSignup: !pc.signup, TLS: tls, TrustedProxies: proxies}
	if pc.customCSS != "" {
		b, err := os.ReadFile(pc.customCSS)
		if err != nil {
			return nil, fmt.Errorf("--custom-css: %w", err)
		}
		cfg.CustomCSS = b
	}
	if pc.logo != "" {
		typ, ok := logoTypes[strings.ToLower(filepath.Ext(pc.logo))]
		if !ok {
			return nil, fmt.Errorf("--logo: %s is not a .png, .svg, .jpg, .webp or .gif file", pc.logo)
		}
		b, err := os.ReadFile(pc.logo)
		if err != nil {
			return nil, fmt.Errorf("--logo: %w", err)
		}
		cfg.Logo, cfg.LogoType = b, typ
	}
	return pages.NewServer(cfg, pages.Deps{Service: svc, Logger: logger}, api), nil
}
