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

	// Personal API keys.
	"keys_heading":      "API keys",
	"keys_intro":        "Keys let your scripts and programs use your account without your password. Each works until you revoke it or it expires; changing your password does not end it.",
	"keys_none":         "You have no API keys.",
	"key_new":           "Your new key. Copy it now: it is shown only this once.",
	"key_scopes":        "Allows",
	"key_created":       "Created",
	"key_last_used":     "Last used",
	"key_never_used":    "never",
	"key_expires":       "Expires",
	"key_no_expiry":     "never",
	"field_key_name":    "Name",
	"hint_key_name":     "Up to %d characters, to tell your keys apart.",
	"field_key_expiry":  "Expires",
	"key_expiry_never":  "Never",
	"key_expiry_30":     "In 30 days",
	"key_expiry_90":     "In 90 days",
	"key_expiry_365":    "In a year",
	"field_key_scopes":  "Allows",
	"key_scope_read":    "Reading (GET requests)",
	"key_scope_write":   "Changes (all other requests)",
	"button_create_key": "Create key",
	"button_revoke_key": "Revoke",
	"key_button_hint":   " the key %s",
	"done_key_created":  "Your API key is ready.",
	"done_key_revoked":  "That key is revoked.",
	"done_key_gone":     "That key had already been revoked.",
	"err_key_name":      "Choose a name of 1 to %d characters, without control characters, that does not start or end with a space.",
	"err_key_limit":     "You have %d keys, the most you can hold. Revoke one first.",
	"err_key_scopes":    "Choose at least one thing the key allows.",

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

	// The second factor: the sign-in's second step and the account
	// page's authenticator section.
	"title_signin_mfa":    "Enter your code",
	"mfa_intro":           "Enter the 6-digit code from your authenticator app, or one of your recovery codes.",
	"field_code":          "Code",
	"field_totp_password": "Your password",
	"field_totp_code":     "A code or a recovery code",
	"button_verify":       "Continue",
	"totp_heading":        "Two-step sign-in",
	"totp_off_intro":      "Ask for a code from an authenticator app, as well as your password, when you sign in.",
	"button_totp_start":   "Set up an authenticator app",
	"totp_scan":           "Scan this code with your authenticator app, or type the key below into it, then enter the 6-digit code it shows.",
	"totp_qr_alt":         "QR code of the key for your authenticator app",
	"totp_key":            "Key",
	"button_totp_confirm": "Turn on",
	"totp_on_intro":       "On: signing in asks for a code from your authenticator app. Recovery codes left: %d.",
	"totp_off_how":        "To turn it off, confirm with your password or with a code.",
	"button_totp_off":     "Turn off",
	"totp_codes_heading":  "Your recovery codes",
	"totp_codes_intro":    "Each code signs you in once if you lose your authenticator app. Keep them somewhere safe: they are shown only now.",
	"done_totp_on":        "Two-step sign-in is on. You are signed out everywhere else.",
	"done_totp_off":       "Two-step sign-in is off.",
	"done_mfa_expired":    "That sign-in took too long or was already used. Sign in again.",
	"err_code_empty":      "Enter a code.",
	"err_code_wrong":      "This code is wrong or was already used. Wait for the next one, or use a recovery code.",

	// Durations in "Wait %s".
	"seconds_one":   "1 second",
	"seconds_other": "%d seconds",
	"minutes_other": "%d minutes",
}
