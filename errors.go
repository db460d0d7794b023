package restauth

import (
	"errors"
	"fmt"
	"time"
)

// Error codes are stable strings that clients may match on. They appear in
// every JSON error body as "error" and never change meaning once published.
const (
	EInvalid          = "invalid_request"        // The request is malformed.
	EInvalidJSON      = "invalid_json"           // The body is not the JSON object expected.
	EUnsupportedMedia = "unsupported_media_type" // The body is not JSON.
	EBodyTooLarge     = "body_too_large"         // The body is over the size limit.
	EInvalidUsername  = "invalid_username"       // The username breaks the username rules.
	EUsernameTaken    = "username_taken"         // Another account holds that name.
	EPasswordShort    = "password_too_short"     // The password is under the minimum length.
	EPasswordLong     = "password_too_long"      // The password is over the maximum length.
	EPasswordCommon   = "password_too_common"    // The password is on the common-password list.
	EUnauthorized     = "invalid_credentials"    // Authentication failed or was not offered.
	EInvalidToken     = "invalid_token"          // A bearer or Basic-username token was refused.
	EInvalidGrant     = "invalid_grant"          // A refresh token was refused.
	EForbidden        = "forbidden"              // Authenticated, but not allowed.
	EWrongPassword    = "wrong_current_password" // The account's current password, asked again for a sensitive change, is wrong.
	ENotFound         = "not_found"              // No such resource.
	EMethodNotAllowed = "method_not_allowed"     // The route exists under other methods.
	ETooManyRequests  = "too_many_requests"      // A rate limit or the login tarpit applies.
	EOverloaded       = "overloaded"             // Password hashing capacity is exhausted.
	EUnavailable      = "unavailable"            // The database cannot be reached.
	EInternal         = "internal_error"         // Anything else; details are only logged.
	EMFARequired      = "mfa_required"           // The password was right; a second factor must follow.
	EInvalidMFAToken  = "invalid_mfa_token"      // An mfa_token was refused: unknown, expired or used.
	EInvalidCode      = "invalid_code"           // A TOTP or recovery code is wrong or was used already.
	ETOTPActive       = "totp_already_enabled"   // A TOTP authenticator is active; disable it first.
	EPasskeyRefused   = "passkey_refused"        // A passkey ceremony's response did not verify, or its challenge expired or was used.
	EPasskeyLimit     = "passkey_limit"          // The account has the most passkeys it may have.
)

// Error is the one error type that crosses the domain boundary. Code is a
// stable machine-readable value, Message is safe to show to the client, and
// Err (never shown) keeps the underlying cause for the logs.
type Error struct {
	Code       string
	Message    string
	RetryAfter time.Duration // Set for ETooManyRequests and EOverloaded.
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted client message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// RetrySeconds is d in whole seconds, rounded up, as a Retry-After header
// states a wait: every door that answers "try again later" says it so.
func RetrySeconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// ErrorMessage returns the client-safe message of err. Errors that are not
// an *Error never leak their text: the client sees a generic sentence.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "an internal error occurred"
}

// Sentinel errors that stores return and the Service translates.
var (
	// ErrNotFound is returned by stores when a row does not exist.
	ErrNotFound = &Error{Code: ENotFound, Message: "not found"}
	// ErrUsernameTaken is returned by stores when the unique index on the
	// folded username rejects an insert.
	ErrUsernameTaken = &Error{Code: EUsernameTaken, Message: "username is already taken"}
	// ErrInvalidData is returned by stores when the database refuses a
	// value as malformed (invalid UTF-8, a NUL byte, a number out of a
	// column's range): the request was bad, not the server.
	ErrInvalidData = &Error{Code: EInvalid, Message: "the request holds a value that is not valid"}
	// ErrStoreUnavailable wraps failures to reach the database.
	ErrStoreUnavailable = &Error{Code: EUnavailable, Message: "the service is temporarily unavailable"}
)
