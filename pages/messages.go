package pages

// lang is the language of the catalog below, sent as <html lang>.
const lang = "en"

// messages is every sentence the pages show, by key; a translation is a
// copy of this file. Values with %d or %s take arguments, given where the
// key is used. The product name is the operator's, never translated.
var messages = map[string]string{
	// Titles and headings.
	"title_signup":  "Create an account",
	"title_signin":  "Sign in",
	"title_account": "Your account",
	"title_error":   "Something went wrong",
	"title_404":     "Page not found",

	// Navigation.
	"nav_label":   "Account",
	"nav_signin":  "Sign in",
	"nav_signup":  "Create an account",
	"nav_account": "Account",
	"nav_signout": "Sign out",
	"skip":        "Skip to the main content",

	// Fields.
	"field_username":         "Username",
	"field_password":         "Password",
	"field_new_password":     "New password",
	"field_current_password": "Current password",
	"field_delete_password":  "Your password",
	"hint_username":          "Up to %d characters. Letters are not case-sensitive when you sign in.",
	"hint_new_password":      "At least %d characters. Use a passphrase: several words are easy to remember and hard to guess.",

	// Buttons.
	"button_signup":       "Create account",
	"button_signin":       "Sign in",
	"button_change":       "Change password",
	"button_end_others":   "Sign out everywhere else",
	"button_end_session":  "End session",
	"button_end_this":     "Sign out of this device",
	"button_delete":       "Delete my account",
	"session_button_hint": " started %s",

	// Page texts.
	"signup_have_account": "Already have an account?",
	"signin_no_account":   "New here?",
	"signup_closed":       "Sign-up is closed here. Ask the people who run this service for an account.",
	"account_signed_in":   "Signed in as",
	"sessions_heading":    "Where you are signed in",
	"sessions_intro":      "Every browser and program signed in to your account. End any you do not recognise: it is signed out at once.",
	"sessions_none_other": "You are signed in nowhere else.",
	"session_this":        "This device",
	"session_created":     "Signed in",
	"session_last_used":   "Last used",
	"session_ip":          "IP address",
	"session_agent":       "Browser or program",
	"session_unknown":     "unknown",
	"password_heading":    "Change your password",
	"password_intro":      "Changing your password signs you out everywhere else.",
	"delete_heading":      "Delete your account",
	"delete_intro":        "This deletes your account and signs you out everywhere. It cannot be undone.",
	"notfound_text":       "There is no page at this address.",
	"back_home":           "Go to the sign-in page",
	"time_utc":            "%s UTC",

	// Notices after a redirect.
	"done_signup":          "Your account is ready, and you are signed in.",
	"done_signed_out":      "You are signed out.",
	"done_password":        "Your password is changed. You are signed out everywhere else.",
	"done_session_ended":   "That session is ended.",
	"done_others_ended":    "You are signed out everywhere else.",
	"done_deleted":         "Your account is deleted.",
	"done_session_gone":    "That session had already ended.",
	"done_session_expired": "Your session has ended. Sign in again.",

	// Refusals.
	"err_credentials":      "The username or password is wrong.",
	"err_username_invalid": "Choose a username of 1 to %d characters, without ':' or control characters, that does not start or end with a space.",
	"err_username_taken":   "This username is taken. Choose another one.",
	"err_password_short":   "Use at least %d characters.",
	"err_password_long":    "Use at most %d characters.",
	"err_password_common":  "This password is one of the most common ones, which are guessed first. Choose another one.",
	"err_password_invalid": "This password contains characters that cannot be used (control characters).",
	"err_password_empty":   "Enter your password.",
	"err_current_wrong":    "Your current password is wrong.",
	"err_too_many":         "Too many attempts. Wait %s, then try again.",
	"err_busy":             "The server is busy. Try again in a moment.",
	"err_unavailable":      "The service is unavailable right now. Try again in a few minutes.",
	"err_internal":         "Something went wrong on our side. Try again in a moment.",
	"err_conflict":         "Your password was changed somewhere else at the same time. Try again.",
	"err_cross_origin":     "This form was sent from another site, so it was refused. Open the page here and send it again.",

	// Passkeys.
	"passkeys_heading":      "Passkeys",
	"passkeys_intro":        "A passkey signs you in with your fingerprint, face, screen lock or security key, without your username or password. It stays on your device; this site keeps only its public key.",
	"passkeys_none":         "You have no passkeys yet.",
	"passkey_created":       "Added",
	"passkey_last_used":     "Last used",
	"passkey_never":         "Never",
	"field_passkey_name":    "Name of the new passkey",
	"hint_passkey_name":     "Up to %d characters, to tell your passkeys apart, such as \u201cWork laptop\u201d.",
	"button_passkey_add":    "Add a passkey",
	"button_passkey_remove": "Remove",
	"passkey_remove_hint":   " the passkey %s",
	"button_passkey_signin": "Sign in with a passkey",
	"signin_passkey_intro":  "Or sign in with a passkey, without your username or password.",
	"passkey_unsupported":   "This browser cannot use passkeys.",
	"passkey_cancelled":     "The passkey request was cancelled or timed out. Try again.",
	"passkey_working":       "Follow your browser\u2019s instructions to use your passkey.",
	"done_passkey_added":    "Your passkey is added.",
	"done_passkey_removed":  "That passkey is removed. It can no longer sign you in.",
	"done_passkey_gone":     "That passkey had already been removed.",
	"err_passkey_refused":   "The passkey was not accepted. Use a passkey made for this site, and try again.",
	"err_passkey_limit":     "An account may have at most %d passkeys. Remove one first.",
	"err_passkey_name":      "Give the passkey a name of 1 to %d characters, without control characters.",
	"err_bad_request":       "The request could not be read. Reload the page and try again.",

	// Durations in "Wait %s".
	"seconds_one":   "1 second",
	"seconds_other": "%d seconds",
	"minutes_other": "%d minutes",
}
