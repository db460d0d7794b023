package httpapi

import (
	_ "embed"
	"net/http"
	"strconv"
)

// OpenAPI is the OpenAPI 3.1 document of the API: every route, request
// body, response and error code. The HTTP tests validate every request
// they make and every answer they get against it, so it cannot drift from
// the code.
//
//go:embed openapi.json
var OpenAPI []byte

var openAPILength = []string{strconv.Itoa(len(OpenAPI))}

// handleOpenAPI serves GET /api/openapi.json.
func handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = contentTypeJSON
		h["Content-Length"] = openAPILength
		h.Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(OpenAPI)
	})
}
