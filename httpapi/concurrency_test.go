package httpapi

import (
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestParallelRegistrationsOneName releases 50 registrations of one name
// (in different letter cases) together: the unique index admits exactly one.
func TestParallelRegistrationsOneName(t *testing.T) {
	forEachStore(t, testParallelRegistrationsOneName)
}

func testParallelRegistrationsOneName(t *testing.T, kind storeKind) {
	e := newEnvOn(t, kind, func(c *restauthConfig, _ *Config) { c.RegisterIPLimit = 0 })
	const n = 50
	var wg sync.WaitGroup
	start := make(chan struct{})
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := "Racer"
			if i%2 == 1 {
				name = "racer"
			}
			req, _ := http.NewRequest("POST", e.srv.URL+"/api/users",
				strings.NewReader(`{"username":"`+name+`","password":"correct horse battery"}`))
			req.Header.Set("Content-Type", "application/json")
			<-start
			res, err := e.srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			statuses[i] = res.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[201] != 1 || count[400] != n-1 {
		t.Errorf("statuses = %v, want exactly one 201 and %d 400", count, n-1)
	}
	if got := e.userCount(); got != 1 {
		t.Errorf("users = %d, want 1", got)
	}
}
