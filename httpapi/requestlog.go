package httpapi

import (
	"context"
	"log/slog"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

// RequestLogMessage is the message of the one log line written per
// request, so that a log handler can treat those lines apart (cmd/restauth
// batches them).
const RequestLogMessage = "request"

// RequestLog is the content of one request's log line. It never holds
// headers, query strings or bodies, which may carry credentials.
type RequestLog struct {
	Time     time.Time
	Method   string
	Path     string
	Status   int
	Duration time.Duration
	UserID   int64 // Zero when no user was identified.
}

// RequestLogHandler is a slog.Handler that can also write request lines
// itself. The request log is written for every request, and going through
// slog.Logger costs a stack walk for the source position, an attribute
// slice and a generic formatter per line; a handler that implements
// HandleRequest appends the line straight into its output instead, with
// AppendText or AppendJSON, in the same format as a slog.TextHandler or
// slog.JSONHandler would. NewServer uses it when the Logger's handler has
// it, and writes a slog.Record otherwise.
type RequestLogHandler interface {
	slog.Handler
	HandleRequest(ctx context.Context, l RequestLog) error
}

// Record returns the line as a slog.Record, for handlers without
// HandleRequest. The program counter is left zero: a request line's
// source position is always the same and not worth a stack walk.
func (l *RequestLog) Record() slog.Record {
	r := slog.NewRecord(l.Time, slog.LevelInfo, RequestLogMessage, 0)
	if l.UserID != 0 {
		r.AddAttrs(slog.String("method", l.Method), slog.String("path", l.Path), slog.Int("status", l.Status),
			slog.Duration("duration", l.Duration), slog.Int64("user_id", l.UserID))
	} else {
		r.AddAttrs(slog.String("method", l.Method), slog.String("path", l.Path), slog.Int("status", l.Status),
			slog.Duration("duration", l.Duration))
	}
	return r
}

// AppendText appends the line, with its newline, as slog.TextHandler
// (with no options) formats the same record.
func (l *RequestLog) AppendText(b []byte) []byte {
	if !l.Time.IsZero() {
		// slog's millisecond format: RFC 3339 with exactly three
		// fractional digits.
		b = append(b, "time="...)
		b = l.Time.AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
		b = append(b, ' ')
	}
	b = append(b, "level=INFO msg="+RequestLogMessage+" method="...)
	b = appendTextString(b, l.Method)
	b = append(b, " path="...)
	b = appendTextString(b, l.Path)
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(l.Status), 10)
	b = append(b, " duration="...)
	b = appendDuration(b, l.Duration)
	if l.UserID != 0 {
		b = append(b, " user_id="...)
		b = strconv.AppendInt(b, l.UserID, 10)
	}
	return append(b, '\n')
}

// AppendJSON appends the line, with its newline, as slog.JSONHandler (with
// no options) formats the same record.
func (l *RequestLog) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	if !l.Time.IsZero() {
		b = append(b, `"time":"`...)
		b = l.Time.AppendFormat(b, time.RFC3339Nano)
		b = append(b, `",`...)
	}
	b = append(b, `"level":"INFO","msg":"`+RequestLogMessage+`","method":`...)
	b = appendJSONString(b, l.Method)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, l.Path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(l.Status), 10)
	b = append(b, `,"duration":`...)
	b = strconv.AppendInt(b, int64(l.Duration), 10)
	if l.UserID != 0 {
		b = append(b, `,"user_id":`...)
		b = strconv.AppendInt(b, l.UserID, 10)
	}
	return append(b, "}\n"...)
}

// appendTextString appends s as slog.TextHandler does: as is when it is
// unambiguous, quoted otherwise, so that a path holding a space, an equals
// sign, a quote or a newline cannot forge another field or line.
func appendTextString(b []byte, s string) []byte {
	if textNeedsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// textNeedsQuoting is slog.TextHandler's rule.
func textNeedsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == '=' || c == '"' {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string the way slog.JSONHandler
// escapes it: quotes, backslashes and control characters escaped, invalid
// UTF-8 replaced by U+FFFD, and U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(append(b, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(append(b, s[start:i]...), `\u202`...)
			b = append(b, hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendDuration appends d exactly as d.String() would, without the string
// allocation.
func appendDuration(b []byte, d time.Duration) []byte {
	// Largest time is 2540400h10m10.000000000s.
	var buf [32]byte
	w := len(buf)
	u := uint64(d)
	neg := d < 0
	if neg {
		u = -u
	}
	if u < uint64(time.Second) {
		// Special case: if duration is smaller than a second, use smaller
		// units, like 1.2ms.
		var prec int
		w--
		buf[w] = 's'
		w--
		switch {
		case u == 0:
			return append(b, "0s"...)
		case u < uint64(time.Microsecond):
			prec = 0
			buf[w] = 'n'
		case u < uint64(time.Millisecond):
			prec = 3
			// U+00B5 'µ' micro sign == 0xC2 0xB5.
			w--
			copy(buf[w:], "µ")
		default:
			prec = 6
			buf[w] = 'm'
		}
		w, u = fmtFrac(buf[:w], u, prec)
		w = fmtInt(buf[:w], u)
	} else {
		w--
		buf[w] = 's'
		w, u = fmtFrac(buf[:w], u, 9)
		// u is now integer seconds.
		w = fmtInt(buf[:w], u%60)
		u /= 60
		// u is now integer minutes.
		if u > 0 {
			w--
			buf[w] = 'm'
			w = fmtInt(buf[:w], u%60)
			u /= 60
			// u is now integer hours.
			if u > 0 {
				w--
				buf[w] = 'h'
				w = fmtInt(buf[:w], u)
			}
		}
	}
	if neg {
		w--
		buf[w] = '-'
	}
	return append(b, buf[w:]...)
}

// fmtFrac formats the fraction of v/10**prec (e.g., ".12345") into the
// tail of buf, omitting trailing zeros. It omits the decimal point too
// when the fraction is 0. It returns the index where the output bytes
// begin and the value v/10**prec. (From package time.)
func fmtFrac(buf []byte, v uint64, prec int) (nw int, nv uint64) {
	w := len(buf)
	print := false
	for range prec {
		digit := v % 10
		print = print || digit != 0
		if print {
			w--
			buf[w] = byte(digit) + '0'
		}
		v /= 10
	}
	if print {
		w--
		buf[w] = '.'
	}
	return w, v
}

// fmtInt formats v into the tail of buf. It returns the index where the
// output begins. (From package time.)
func fmtInt(buf []byte, v uint64) int {
	w := len(buf)
	if v == 0 {
		w--
		buf[w] = '0'
	} else {
		for v > 0 {
			w--
			buf[w] = byte(v%10) + '0'
			v /= 10
		}
	}
	return w
}
