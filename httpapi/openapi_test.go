package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// The document, loaded and checked once for every test.
var openAPI = sync.OnceValues(func() (*openapi3.T, routers.Router) {
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPI)
	if err != nil {
		panic("httpapi: openapi.json does not load: " + err.Error())
	}
	router, err := legacy.NewRouter(doc) // Validates the document first.
	if err != nil {
		panic("httpapi: openapi.json is not a valid OpenAPI document: " + err.Error())
	}
	return doc, router
})

// validateOpenAPI makes every request that srv's client sends, and every
// answer it gets, be checked against the OpenAPI document. Every test of
// this package goes through that client (see newEnvWith), so a route, a
// field or a status the code has and the document lacks fails the test
// that exercised it.
func validateOpenAPI(t testing.TB, srv *httptest.Server) {
	if _, fuzzing := t.(*testing.F); fuzzing {
		// A fuzz target may not report through its *testing.F; its own
		// property (no 5xx, nothing stored on a refusal) is checked per
		// input, and the tests hold the document to every answer.
		return
	}
	c := srv.Client()
	c.Transport = &openAPITransport{t: t, base: c.Transport}
}

// openAPITransport checks each exchange against the document:
//
//   - A request the document accepts may get any answer the document lists
//     for its operation, and nothing else, body and headers included.
//   - A request the document refuses (the hostile-input tests send them on
//     purpose) must be refused by the server too, with a 4xx the document
//     lists: had the server accepted it, the document would be missing
//     something the code accepts.
//   - A request to no documented operation must get the 404 or 405 error
//     the document describes.
//
// Failures are reported with t.Errorf, which is safe from the concurrent
// tests' goroutines.
type openAPITransport struct {
	t    testing.TB
	base http.RoundTripper
}

func (v *openAPITransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// Read the body, but no more than the server would: a test may send an
	// endless one to prove it is cut off.
	var reqBody []byte
	tooLarge := false
	out := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(io.LimitReader(req.Body, MaxBodyBytes+1))
		if err != nil {
			return nil, err
		}
		reqBody = b
		if len(b) > MaxBodyBytes {
			tooLarge = true
			out.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), req.Body))
		} else {
			req.Body.Close()
			out.Body = io.NopCloser(bytes.NewReader(b))
		}
		out.GetBody = nil
	}
	res, err := v.base.RoundTrip(out)
	if err != nil {
		return res, err
	}
	resBody, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		// The answer was cut short (the server closed the connection):
		// the test sees the same failure, and there is nothing whole to
		// check.
		res.Body = io.NopCloser(io.MultiReader(bytes.NewReader(resBody), errReader{err}))
		return res, nil
	}
	res.Body = io.NopCloser(bytes.NewReader(resBody))
	if err := checkExchange(req, reqBody, tooLarge, res, resBody); err != nil {
		v.t.Errorf("OpenAPI: %s %s → %d: %v\nresponse body: %.300s", req.Method, req.URL.RequestURI(), res.StatusCode, err, resBody)
	}
	return res, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// checkExchange validates one request and its answer against the document.
func checkExchange(req *http.Request, reqBody []byte, tooLarge bool, res *http.Response, resBody []byte) error {
	_, router := openAPI()
	ctx := context.Background()
	head := req.Method == http.MethodHead
	probe := req.Clone(ctx)
	if head {
		// HEAD is served by every GET route, without the body.
		probe.Method = http.MethodGet
	}
	probe.Body = io.NopCloser(bytes.NewReader(reqBody))
	// An encoded slash stays inside one segment for the server's router,
	// but the document's router decodes it first and may then match
	// another operation: such a path names no documented operation when
	// the server answers it as unrouted.
	encodedSlash := strings.Contains(strings.ToLower(req.URL.EscapedPath()), "%2f")
	if encodedSlash && (res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusMethodNotAllowed) {
		return checkUnrouted(req, res, resBody)
	}
	route, params, err := router.FindRoute(probe)
	if err != nil {
		return checkUnrouted(req, res, resBody)
	}
	opts := &openapi3filter.Options{
		// Who may call is the server's to decide and the tests' to check;
		// the document only says which schemes exist.
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true, // A status the operation does not list fails.
		ExcludeResponseBody:   head,
		MultiError:            true,
	}
	in := &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route, Options: opts}
	var reqErr error
	if tooLarge {
		reqErr = fmt.Errorf("the body is over %d bytes", MaxBodyBytes)
	} else {
		reqErr = openapi3filter.ValidateRequest(ctx, in)
	}
	if reqErr != nil && (res.StatusCode < 400 || res.StatusCode > 499) {
		return fmt.Errorf("the document refuses this request (%v), but the server answered %d: the document is missing what the code accepts", reqErr, res.StatusCode)
	}
	rvi := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: res.StatusCode, Header: res.Header, Options: opts,
	}
	rvi.SetBodyBytes(resBody)
	if err := openapi3filter.ValidateResponse(ctx, rvi); err != nil {
		return fmt.Errorf("the answer does not match the document: %w", err)
	}
	return nil
}

// checkUnrouted checks the answer to a request that names no documented
// operation: the JSON 404 or 405 of the document. Two answers come from
// outside the API proper: net/http's redirect of a path that is not clean,
// and the CORS middleware's answer to a preflight.
func checkUnrouted(req *http.Request, res *http.Response, body []byte) error {
	doc, _ := openAPI()
	p := req.URL.Path
	switch {
	case res.StatusCode == http.StatusMovedPermanently || res.StatusCode == http.StatusTemporaryRedirect || res.StatusCode == http.StatusPermanentRedirect:
		if p != "" && path.Clean(p) != p || strings.HasSuffix(p, "/") && p != "/" || strings.Contains(p, "//") {
			return nil
		}
		return fmt.Errorf("a redirect of a clean path")
	case req.Method == http.MethodOptions && req.Header.Get("Access-Control-Request-Method") != "" && res.StatusCode == http.StatusNoContent:
		return nil
	}
	var name string
	switch res.StatusCode {
	case http.StatusNotFound:
		name = "NotFound"
	case http.StatusMethodNotAllowed:
		name = "MethodNotAllowed"
		if res.Header.Get("Allow") == "" {
			return errors.New("405 without Allow")
		}
	default:
		return fmt.Errorf("no documented operation is %s %s, and the answer is neither 404 nor 405", req.Method, p)
	}
	if req.Method == http.MethodHead {
		return nil
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		return fmt.Errorf("content type %q, want application/json", ct)
	}
	schema := doc.Components.Responses[name].Value.Content.Get("application/json").Schema.Value
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("the body is not JSON: %v", err)
	}
	if err := schema.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		return fmt.Errorf("the body does not match the document's %s: %v", name, err)
	}
	return nil
}

// TestOpenAPIServed checks that GET /api/openapi.json serves the embedded
// document, and that the document is a valid OpenAPI 3.1 document.
func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/api/openapi.json", "")
	wantStatus(t, r, http.StatusOK, "")
	if !bytes.Equal(r.body, OpenAPI) {
		t.Errorf("GET /api/openapi.json served %d bytes, want the %d embedded", len(r.body), len(OpenAPI))
	}
	doc, _ := openAPI()
	if got, want := doc.OpenAPI, "3.1.0"; got != want {
		t.Errorf("openapi = %q, want %q", got, want)
	}
}

// TestOpenAPIRoutes checks that the document has exactly the routes of
// routes.go: every pattern declared there is a documented operation, and
// every documented operation is routed by the real mux to the pattern of
// the same name.
func TestOpenAPIRoutes(t *testing.T) {
	doc, _ := openAPI()
	declared := routePatterns(t)
	mux := newRouter()
	addRoutes(mux, Config{IntrospectClients: map[string]string{"gw": "s3cret-s3cret-s3cret"}}, Deps{})
	documented := map[string]bool{}
	for p, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+p] = true
			sample := strings.ReplaceAll(p, "{id}", "1")
			if _, pattern := mux.Handler(httptest.NewRequest(method, sample, nil)); pattern != method+" "+p {
				t.Errorf("the document's %s %s is routed to %q", method, p, pattern)
			}
		}
	}
	for _, pattern := range declared {
		if !documented[pattern] {
			t.Errorf("route %q of routes.go is not in the document", pattern)
		}
	}
	if len(documented) != len(declared) {
		t.Errorf("the document has %d operations, routes.go %d: %v", len(documented), len(declared), slices.Sorted(maps.Keys(documented)))
	}
}

// routePatterns returns the patterns routes.go passes to mux.Handle,
// read from its source, without the catch-all.
func routePatterns(t testing.TB) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "routes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); !ok || sel.Sel.Name != "Handle" {
			return true
		}
		lit, ok := call.Args[0].(*ast.BasicLit)
		if !ok {
			t.Fatalf("routes.go: a route whose pattern is not a literal")
		}
		p, err := strconv.Unquote(lit.Value)
		if err != nil {
			t.Fatal(err)
		}
		if p != "/" {
			out = append(out, p)
		}
		return true
	})
	sort.Strings(out)
	if len(out) < 10 {
		t.Fatalf("found only %d routes in routes.go: %v", len(out), out)
	}
	return out
}

// TestOpenAPIErrorCodes checks that the document's error responses list
// every error code under exactly the status that encode.go gives it.
func TestOpenAPIErrorCodes(t *testing.T) {
	doc, _ := openAPI()
	want := map[int][]string{}
	for code, status := range statusByCode {
		want[status] = append(want[status], code)
	}
	got := map[int][]string{}
	for name, r := range doc.Components.Schemas {
		st, ok := strings.CutPrefix(name, "Error")
		if !ok || st == "" {
			continue
		}
		status, err := strconv.Atoi(st)
		if err != nil {
			t.Fatalf("schema %s: %v", name, err)
		}
		for _, sub := range r.Value.AllOf {
			if p := sub.Value.Properties["error"]; p != nil && sub.Ref == "" {
				for _, c := range p.Value.Enum {
					got[status] = append(got[status], c.(string))
				}
			}
		}
	}
	var all []string
	for status := range want {
		slices.Sort(want[status])
		slices.Sort(got[status])
		if !slices.Equal(got[status], want[status]) {
			t.Errorf("status %d: the document lists codes %v, encode.go %v", status, got[status], want[status])
		}
		all = append(all, want[status]...)
	}
	for status := range got {
		if want[status] == nil {
			t.Errorf("the document lists codes %v under status %d, which encode.go never answers", got[status], status)
		}
	}
	var enum []string
	for _, c := range doc.Components.Schemas["Error"].Value.Properties["error"].Value.Enum {
		enum = append(enum, c.(string))
	}
	slices.Sort(all)
	slices.Sort(enum)
	if !slices.Equal(enum, all) {
		t.Errorf("the Error schema lists codes %v, encode.go %v", enum, all)
	}
}
