package password_test

import (
	"context"
	"fmt"

	"github.com/restauth/restauth/password"
)

func ExampleHasher() {
	// Small parameters keep the example fast; servers use the defaults.
	h := password.New(password.Options{Params: password.Params{Memory: 64, Time: 1}})
	ctx := context.Background()

	encoded, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		fmt.Println(err)
		return
	}
	ok, rehash, err := h.Verify(ctx, "correct horse battery staple", encoded)
	fmt.Println(ok, rehash, err)

	// A legacy passlib sha256_crypt hash verifies and asks to be replaced.
	ok, rehash, err = h.Verify(ctx, "correct horse", "$5$rounds=1000$restauthsalt$LEt3/3HGgJDGkxY/IeLIXd6qHwSBT7Wr9gsr./NKiO0")
	fmt.Println(ok, rehash, err)

	// Output:
	// true false <nil>
	// true true <nil>
}
