package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/skip2/go-qrcode"

	"github.com/restauth/restauth"
)

type (
	// mfaLoginRequest completes a login with a code, or with a passkey:
	// Passkey is the assertion (the PublicKeyCredential as JSON text, so
	// that the body stays an object of strings) answering the challenge
	// Challenge of POST /api/tokens/mfa/passkey/options.
	mfaLoginRequest struct {
		MFAToken string `json:"mfa_token,required"`
		// Factor names what is proved; empty means "passkey" when Passkey
		// is sent and "totp" otherwise.
		Factor    string `json:"factor"`
		Code      string `json:"code"`
		Challenge string `json:"challenge"`
		Passkey   string `json:"passkey"`
	}
	mfaPasskeyOptionsRequest struct {
		MFAToken string `json:"mfa_token,required"`
	}
	totpConfirmRequest struct {
		Code string `json:"code,required"`
	}
	// totpDisableRequest needs one of the two; the Service says which is
	// missing.
	totpDisableRequest struct {
		Password string `json:"password"`
		Code     string `json:"code"`
	}
)

// mfaRequiredBody is the 401 of a password login that needs a second
// factor: the error body with the token that completes the login.
type mfaRequiredBody struct {
	Error     string   `json:"error"`
	Message   string   `json:"message"`
	MFAToken  string   `json:"mfa_token"`
	ExpiresIn int64    `json:"expires_in"`
	Factors   []string `json:"factors"`
}

// writeLoginError is writeError for a password login, whose mfa_required
// answer carries the mfa_token.
func writeLoginError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	var mfa *restauth.MFARequiredError
	if !errors.As(err, &mfa) {
		writeError(w, r, logger, err)
		return
	}
	code := restauth.EMFARequired
	noteErrorCode(w, code)
	challenge(w, r, code)
	encode(w, statusByCode[code], mfaRequiredBody{
		Error: code, Message: restauth.ErrorMessage(err),
		MFAToken: mfa.Token, ExpiresIn: int64(mfa.ExpiresIn / time.Second), Factors: mfa.Factors,
	})
}

var (
	errCodeAndPasskey = restauth.Errorf(restauth.EInvalid, "send a code or a passkey, not both")
	errNoCode         = restauth.Errorf(restauth.EInvalid, "code is required")
	errNoPasskey      = restauth.Errorf(restauth.EInvalid, "passkey and challenge are required")
)

// handleMFALogin serves POST /api/tokens/mfa: the second step of a login
// that answered mfa_required, with {"mfa_token", "factor", "code"} or with
// {"mfa_token", "challenge", "passkey"}.
func handleMFALogin(logger *slog.Logger, svc *restauth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[mfaLoginRequest](w, r)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		var u *restauth.User
		var pair *restauth.TokenPair
		switch {
		case req.Factor == restauth.FactorPasskey || req.Factor == "" && req.Passkey != "":
			switch {
			case req.Code != "":
				err = errCodeAndPasskey
			case req.Passkey == "" || req.Challenge == "":
				err = errNoPasskey
			default:
				u, pair, err = svc.CompleteLoginPasskey(r.Context(), req.MFAToken, req.Challenge, []byte(req.Passkey), meta(r))
			}
		case req.Passkey != "" || req.Challenge != "":
			err = errCodeAndPasskey
		case req.Code == "":
			err = errNoCode
		default:
			u, pair, err = svc.CompleteLogin(r.Context(), req.MFAToken, req.Factor, req.Code, meta(r))
		}
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		setLogUser(r.Context(), u.ID)
		writePair(w, pair)
	})
}

// mfaPasskeyOptions is the start of a passkey ceremony: the challenge's id,
// to send back with the assertion, and the options for
// navigator.credentials.get.
type mfaPasskeyOptions struct {
	Challenge string          `json:"challenge"`
	Options   json.RawMessage `json:"options"`
}

// handleMFAPasskeyOptions serves POST /api/tokens/mfa/passkey/options with
// {"mfa_token"}: the WebAuthn request options for proving the login's
// second factor with one of the account's passkeys.
func handleMFAPasskeyOptions(logger *slog.Logger, svc *restauth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[mfaPasskeyOptionsRequest](w, r)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		id, options, err := svc.BeginMFAPasskey(r.Context(), req.MFAToken)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		encode(w, http.StatusOK, mfaPasskeyOptions{Challenge: id, Options: options})
	})
}

type totpStatusResponse struct {
	Enabled           bool `json:"enabled"`
	Pending           bool `json:"pending"`
	RecoveryCodesLeft int  `json:"recovery_codes_left"`
}

// handleTOTPStatus serves GET /api/users/me/totp.
func handleTOTPStatus(logger *slog.Logger, svc *restauth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, err := svc.MFAStatus(r.Context(), principalFrom(r.Context()))
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		encode(w, http.StatusOK, totpStatusResponse{Enabled: st.TOTP, Pending: st.TOTPPending, RecoveryCodesLeft: st.RecoveryCodesLeft})
	})
}

type totpEnrolResponse struct {
	Secret     string `json:"secret"`
	OTPAuthURI string `json:"otpauth_uri"`
	QRCode     string `json:"qr_code"`
}

// QRCodePNG renders text (an otpauth:// URI) as a QR code, a PNG image of
// 256 by 256 pixels, for the API's enrolment answer and the account page.
func QRCodePNG(text string) ([]byte, error) {
	return qrcode.Encode(text, qrcode.Medium, 256)
}

// QRCodeDataURI is QRCodePNG as a data: URI.
func QRCodeDataURI(text string) (string, error) {
	png, err := QRCodePNG(text)
	if err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(png), nil
}

// handleTOTPEnrol serves POST /api/users/me/totp: a new secret, pending
// until POST /api/users/me/totp/confirm.
func handleTOTPEnrol(logger *slog.Logger, svc *restauth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		enr, err := svc.EnrollTOTP(r.Context(), principalFrom(r.Context()))
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		qr, err := QRCodeDataURI(enr.URI)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		encode(w, http.StatusOK, totpEnrolResponse{Secret: enr.Secret, OTPAuthURI: enr.URI, QRCode: qr})
	})
}

// handleTOTPConfirm serves POST /api/users/me/totp/confirm with {"code"}:
// the answer holds the recovery codes, which are never shown again.
func handleTOTPConfirm(logger *slog.Logger, svc *restauth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[totpConfirmRequest](w, r)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		codes, err := svc.ConfirmTOTP(r.Context(), principalFrom(r.Context()), req.Code, meta(r))
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		encode(w, http.StatusOK, map[string][]string{"recovery_codes": codes})
	})
}

// handleTOTPDisable serves DELETE /api/users/me/totp with {"password"} or
// {"code"}.
func handleTOTPDisable(logger *slog.Logger, svc *restauth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[totpDisableRequest](w, r)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		if err := svc.DisableTOTP(r.Context(), principalFrom(r.Context()), req.Password, req.Code, meta(r)); err != nil {
			writeError(w, r, logger, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
