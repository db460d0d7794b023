// Package storetest is a conformance suite for restauth stores, in the manner
// of testing/fstest: every store package runs the same tests against its own
// implementation, so the Service can rely on one behaviour whatever the
// database.
//
// A store's test calls Run with a function returning a fresh, empty, migrated
// store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Store {
//			db, err := Open(t.Context(), filepath.Join(t.TempDir(), "test.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { db.Close() })
//			return db
//		})
//	}
//
// Beyond the interface documentation in package restauth the suite pins down
// these choices, which every store must share:
//   - Times round-trip to the microsecond (the precision of PostgreSQL); the
//     suite only uses whole microseconds, and the zero time stays zero.
//   - SetPasswordHash returns restauth.ErrNotFound when the user is gone or
//     the hash no longer equals oldHash.
//   - CreateSession returns restauth.ErrNotFound when the user does not exist.
//   - DeleteUser returns restauth.ErrNotFound for a missing user, and the
//     revocations of the deleted user's sessions stay visible to RevokedSince.
//   - RotateRefresh returns, when it consumes the parent, the session as it
//     was before the rotation (so the idle timeout applies to the previous
//     use), and afterwards the session's LastUsedAt is the rotation's Now;
//     when Rotation.Live refuses that session, it writes nothing at all.
//   - RevokeSession and RevokeUserSessions revoke any session not revoked
//     yet, even one past its absolute expiry.
//   - Reset of a missing counter and RetireSigningKeys with nothing to retire
//     are not errors.
//   - A string no store can hold (not valid UTF-8, or with a NUL byte) is
//     restauth.ErrNotFound when it is looked up (UserByUsername, Session,
//     RevokeSession) and restauth.ErrInvalidData when it would be written,
//     with nothing stored; an id no row has is restauth.ErrNotFound. Never
//     another error, which would reach clients as a 500.
//
// The suite imports nothing but the standard library and package restauth,
// so it serves any database.
package storetest
