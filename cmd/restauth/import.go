package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/password"
)

// importFlags are the flags of the import commands.
var importFlags = []string{"db", "on-conflict", "dry-run"}

// importer is what both stores offer for bringing users over: all or
// nothing, keeping the ids given and moving the id sequence past them.
type importer interface {
	ImportUsers(ctx context.Context, users []restauth.User) error
}

// sourceUser is one user as the source has it, before any of restauth's
// rules are applied.
type sourceUser struct {
	id       int64
	username string
	hasName  bool // False for a NULL username, which REST-auth's model allows.
	hash     string
	created  time.Time // Zero when the source keeps none (REST-auth does not).
}

// Conflict resolutions, the values of --on-conflict.
const (
	resolveNone   = ""
	resolveSkip   = "skip"
	resolveRename = "rename"
)

func importRESTAuth(ctx context.Context, in *invocation) error {
	src := in.args[0]
	users, err := readRESTAuth(ctx, src)
	if err != nil {
		return err
	}
	return importUsers(ctx, in, users, "REST-auth database "+describeSource(src))
}

func importJSONL(ctx context.Context, in *invocation) error {
	f, err := os.Open(in.args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	users, err := readJSONL(f, in.args[0])
	if err != nil {
		return err
	}
	return importUsers(ctx, in, users, absPath(in.args[0]))
}

// describeSource names a source without its password.
func describeSource(src string) string {
	if isPostgres(src) {
		return redactDSN(src)
	}
	if p, ok := sqlitePath(src); ok {
		return absPath(p)
	}
	return src
}

// readRESTAuth reads the users table that REST-auth's SQLAlchemy model
// creates, id, username and password_hash, from a PostgreSQL URL or a SQLite
// file, which is opened read-only and never created.
func readRESTAuth(ctx context.Context, src string) ([]sourceUser, error) {
	const query = `SELECT id, username, password_hash FROM users ORDER BY id`
	var users []sourceUser
	add := func(id int64, name, hash *string) {
		u := sourceUser{id: id, hasName: name != nil}
		if name != nil {
			u.username = *name
		}
		if hash != nil {
			u.hash = *hash
		}
		users = append(users, u)
	}
	if isPostgres(src) {
		cfg, err := pgx.ParseConfig(src)
		if err != nil {
			return nil, fmt.Errorf("read %s: %s", redactDSN(src), scrubDSN(src, err.Error()))
		}
		if cfg.ConnectTimeout == 0 {
			cfg.ConnectTimeout = 5 * time.Second
		}
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("read %s: %s", redactDSN(src), scrubDSN(src, err.Error()))
		}
		defer c.Close(context.WithoutCancel(ctx))
		rows, err := c.Query(ctx, query)
		if err != nil {
			return nil, fmt.Errorf("read the users table of %s: %s", redactDSN(src), scrubDSN(src, err.Error()))
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var name, hash *string
			if err := rows.Scan(&id, &name, &hash); err != nil {
				return nil, fmt.Errorf("read the users table of %s: %v", redactDSN(src), err)
			}
			add(id, name, hash)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read the users table of %s: %v", redactDSN(src), err)
		}
		return users, nil
	}
	path, ok := sqlitePath(src)
	if !ok {
		return nil, fmt.Errorf("%q is neither a SQLite file nor a postgres:// URL", src)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("read %s: %w", absPath(path), err)
	}
	// The "sqlite" driver is modernc.org/sqlite, registered by package
	// sqlite. mode=ro opens the file as it is: nothing is created or changed.
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro")
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", absPath(path), err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("read the users table of %s: %w", absPath(path), err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name, hash sql.NullString
		if err := rows.Scan(&id, &name, &hash); err != nil {
			return nil, fmt.Errorf("read the users table of %s: %w", absPath(path), err)
		}
		var np, hp *string
		if name.Valid {
			np = &name.String
		}
		if hash.Valid {
			hp = &hash.String
		}
		add(id, np, hp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the users table of %s: %w", absPath(path), err)
	}
	return users, nil
}

// jsonlUser is one line of the JSONL format that restauth export jsonl
// writes and restauth import jsonl reads.
type jsonlUser struct {
	ID       int64      `json:"id"`
	Username string     `json:"username"`
	Hash     string     `json:"hash"`
	Created  *time.Time `json:"created,omitempty"`
}

// maxJSONLLine bounds one line: a user is a few hundred bytes.
const maxJSONLLine = 64 << 10

// readJSONL reads one user per line. A line that is not a user, a missing
// or repeated id, or an unknown field stops the import before anything is
// written, naming the line.
func readJSONL(r io.Reader, name string) ([]sourceUser, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxJSONLLine)
	seen := map[int64]int{}
	var users []sourceUser
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		var ju jsonlUser
		if err := dec.Decode(&ju); err != nil {
			return nil, fmt.Errorf("%s:%d: not a user: %v", name, n, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("%s:%d: more than one value on the line", name, n)
		}
		if ju.ID <= 0 {
			return nil, fmt.Errorf("%s:%d: id must be a whole number of at least 1", name, n)
		}
		if prev, dup := seen[ju.ID]; dup {
			return nil, fmt.Errorf("%s:%d: id %d is also on line %d", name, n, ju.ID, prev)
		}
		seen[ju.ID] = n
		u := sourceUser{id: ju.ID, username: ju.Username, hasName: true, hash: ju.Hash}
		if ju.Created != nil {
			u.created = ju.Created.UTC()
		}
		users = append(users, u)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	slices.SortFunc(users, func(a, b sourceUser) int { return cmpInt(a.id, b.id) })
	return users, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// planned is what the import does with one source user.
type planned struct {
	src     sourceUser
	name    string // The username it is stored under.
	newID   bool   // Its id is taken: it gets a fresh one.
	skip    bool
	present bool     // Imported before: nothing to do.
	reasons []string // Why it cannot be imported as it is; empty when it can.
}

// importPlan is the whole import, decided before anything is written.
type importPlan struct {
	users []*planned
}

// plan decides, for each source user in id order, under which name and id
// it is stored, or why it cannot be: a hash restauth cannot verify, a name
// restauth's rules refuse, a name that folds like another source user's
// (the lower id keeps it) or like that of a user already in the database,
// an id another user has. A user found in the database under the same
// name with the same id or the same hash was imported before and is left
// alone, which makes an import idempotent.
func plan(svc *restauth.Service, src []sourceUser, existing []*restauth.User, mode string) *importPlan {
	byID := make(map[int64]*restauth.User, len(existing))
	byKey := make(map[string]*restauth.User, len(existing))
	for _, e := range existing {
		byID[e.ID] = e
		byKey[restauth.FoldUsername(e.Username)] = e
	}
	p := &importPlan{}
	// First the checks that need nothing but the user, and the owner of
	// each folded name among the source users: the lowest id with a usable
	// hash and a valid name.
	owner := map[string]sourceUser{}
	for _, s := range src {
		pu := &planned{src: s}
		p.users = append(p.users, pu)
		if s.hash == "" {
			pu.reasons = append(pu.reasons, "no password hash")
		} else if err := password.CheckFormat(s.hash); err != nil {
			pu.reasons = append(pu.reasons, "a password hash restauth cannot verify ("+err.Error()+")")
		}
		if len(pu.reasons) > 0 {
			// No name or id can help: the user could never sign in.
			pu.skip = true
			continue
		}
		name, err := svc.NormalizeUsername(s.username)
		switch {
		case !s.hasName:
			pu.reasons = append(pu.reasons, "no username")
		case err != nil:
			pu.reasons = append(pu.reasons, "restauth refuses the name: "+describe(err))
		default:
			pu.name = name
			if _, ok := owner[restauth.FoldUsername(name)]; !ok {
				owner[restauth.FoldUsername(name)] = s
			}
		}
	}
	renamedTo := map[string]bool{} // Folded names given by renaming.
	for _, pu := range p.users {
		if pu.skip {
			continue
		}
		s := pu.src
		// sameUser reports whether e is this user, imported before.
		sameUser := func(e *restauth.User) bool { return e.ID == s.id || e.PasswordHash == s.hash }
		if pu.name != "" {
			key := restauth.FoldUsername(pu.name)
			if o := owner[key]; o.id != s.id {
				pu.reasons = append(pu.reasons, fmt.Sprintf("the name folds like that of id %d %q", o.id, o.username))
				pu.name = ""
			} else if e := byKey[key]; e != nil && !sameUser(e) {
				pu.reasons = append(pu.reasons, fmt.Sprintf("the name is taken by id %d %q in the restauth database", e.ID, e.Username))
				pu.name = ""
			}
		}
		if pu.name == "" {
			cand := renameFor(svc, s, func(cand string) bool {
				key := restauth.FoldUsername(cand)
				if _, ok := owner[key]; ok || renamedTo[key] {
					return false
				}
				e := byKey[key]
				return e == nil || sameUser(e)
			})
			renamedTo[restauth.FoldUsername(cand)] = true
			if e := byKey[restauth.FoldUsername(cand)]; e != nil && sameUser(e) {
				// Renamed by an earlier run: nothing is left to resolve,
				// whatever --on-conflict says now.
				pu.name, pu.present, pu.reasons = cand, true, nil
				continue
			}
			if mode != resolveRename {
				pu.skip = true
				continue
			}
			pu.name = cand
		}
		if e := byKey[restauth.FoldUsername(pu.name)]; e != nil && sameUser(e) {
			pu.present = true
			continue
		}
		if e := byID[s.id]; e != nil {
			pu.reasons = append(pu.reasons, fmt.Sprintf("id %d is taken by %q in the restauth database", s.id, e.Username))
			if mode != resolveRename {
				pu.skip = true
				continue
			}
			pu.newID = true
		}
	}
	return p
}

// renameFor finds a name for a user whose own cannot be used: its name
// with "-ID" added when that is a valid name, "user-ID" otherwise, and a
// further "-2", "-3"... until free accepts it. The names depend only on the
// source and the database, so a second run picks the same ones.
func renameFor(svc *restauth.Service, s sourceUser, free func(string) bool) string {
	id := strconv.FormatInt(s.id, 10)
	base := "user-" + id
	if s.hasName {
		if n, err := svc.NormalizeUsername(s.username + "-" + id); err == nil {
			base = n
		}
	}
	for i := 1; ; i++ {
		cand := base
		if i > 1 {
			cand = base + "-" + strconv.Itoa(i)
		}
		if _, err := svc.NormalizeUsername(cand); err != nil {
			// Too long with the suffix: go on from the short form.
			base, i = "user-"+id, 0
			continue
		}
		if free(cand) {
			return cand
		}
	}
}

// importUsers plans the import of users into the database, reports every
// conflict one per line on stdout, and writes only when there is none or
// --on-conflict says how to resolve them, and not under --dry-run.
func importUsers(ctx context.Context, in *invocation, users []sourceUser, from string) error {
	a, err := toolApp(ctx, in)
	if err != nil {
		return err
	}
	defer a.store.Close()
	imp, ok := a.store.(importer)
	if !ok {
		return errors.New("this database cannot import users")
	}
	existing, err := a.store.ListUsers(ctx)
	if err != nil {
		return fmt.Errorf("list users: %s", describe(err))
	}
	mode, dry := in.cfg.onConflict, in.cfg.dryRun
	p := plan(a.svc, users, existing, mode)

	var batch []restauth.User
	var conflicts, present, skipped, renamed, newIDs int
	for _, pu := range p.users {
		if len(pu.reasons) > 0 {
			conflicts++
		}
		if pu.present {
			present++
			continue
		}
		if pu.skip {
			skipped++
			continue
		}
		u := restauth.User{ID: pu.src.id, Username: pu.name, PasswordHash: pu.src.hash, CreatedAt: pu.src.created}
		if pu.newID {
			u.ID = 0
			newIDs++
		}
		if len(pu.reasons) > 0 && pu.name != pu.src.username {
			renamed++
		}
		batch = append(batch, u)
	}
	// Fresh ids are handed out after every kept one.
	slices.SortStableFunc(batch, func(a, b restauth.User) int {
		return cmpInt(boolInt(a.ID == 0), boolInt(b.ID == 0))
	})

	if conflicts > 0 && mode == resolveNone {
		for _, pu := range p.users {
			if len(pu.reasons) > 0 {
				fmt.Fprintf(in.stdout, "conflict: id %d %s: %s\n", pu.src.id, quoteName(pu.src), strings.Join(pu.reasons, "; "))
			}
		}
		return fmt.Errorf("%d of %d users of %s cannot be imported as they are; nothing was written. "+
			"Run again with --on-conflict skip (leave them out) or --on-conflict rename (rename them, give taken ids new ones), "+
			"with --dry-run first to see what each would do", conflicts, len(users), from)
	}

	if !dry && len(batch) > 0 {
		if err := imp.ImportUsers(ctx, batch); err != nil {
			if errors.Is(err, restauth.ErrUsernameTaken) {
				return errors.New("import users: a name was registered in the restauth database meanwhile; nothing was written; run the import again")
			}
			return fmt.Errorf("import users: %s; nothing was written", describe(err))
		}
	}
	// The ids given to users whose own was taken, by source id.
	assigned := map[string]int64{}
	for _, u := range batch {
		assigned[restauth.FoldUsername(u.Username)] = u.ID
	}
	for _, pu := range p.users {
		if len(pu.reasons) == 0 {
			continue
		}
		why := strings.Join(pu.reasons, "; ")
		switch {
		case pu.skip:
			fmt.Fprintf(in.stdout, "skipped: id %d %s: %s\n", pu.src.id, quoteName(pu.src), why)
		default:
			to := ""
			if pu.name != pu.src.username {
				to = fmt.Sprintf(" as %q", pu.name)
			}
			if pu.newID {
				if id := assigned[restauth.FoldUsername(pu.name)]; id != 0 && !dry {
					to += fmt.Sprintf(" with id %d", id)
				} else {
					to += " with a new id"
				}
			}
			fmt.Fprintf(in.stdout, "renamed: id %d %s%s: %s\n", pu.src.id, quoteName(pu.src), to, why)
		}
	}

	verb := "imported"
	if dry {
		verb = "dry run: would import"
	}
	fmt.Fprintf(in.stdout, "%s %d of %d users from %s", verb, len(batch), len(users), from)
	var notes []string
	if renamed > 0 {
		notes = append(notes, fmt.Sprintf("%d renamed", renamed))
	}
	if newIDs > 0 {
		notes = append(notes, fmt.Sprintf("%d with a new id", newIDs))
	}
	if skipped > 0 {
		notes = append(notes, fmt.Sprintf("%d skipped", skipped))
	}
	if present > 0 {
		notes = append(notes, fmt.Sprintf("%d already there", present))
	}
	if len(notes) > 0 {
		fmt.Fprintf(in.stdout, " (%s)", strings.Join(notes, ", "))
	}
	if dry {
		fmt.Fprint(in.stdout, "; nothing was written")
	} else if len(batch) > 0 {
		fmt.Fprint(in.stdout, "; passwords are unchanged, and hashes in older formats become argon2id at each user's next sign-in")
	}
	fmt.Fprintln(in.stdout)
	return nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// quoteName shows a source username safely on a terminal: quoted, with
// control characters and invalid UTF-8 escaped.
func quoteName(s sourceUser) string {
	if !s.hasName {
		return "(no username)"
	}
	return strconv.Quote(s.username)
}

// exportJSONL writes every user, one JSON object per line, to a new file
// readable by its owner only: it holds password hashes.
func exportJSONL(ctx context.Context, in *invocation) (err error) {
	a, err := toolApp(ctx, in)
	if err != nil {
		return err
	}
	defer a.store.Close()
	users, err := a.store.ListUsers(ctx)
	if err != nil {
		return fmt.Errorf("list users: %s", describe(err))
	}
	file := in.args[0]
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists: export writes a new file and never overwrites one", absPath(file))
	}
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(file)
		}
	}()
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, u := range users {
		created := u.CreatedAt.UTC()
		if err := enc.Encode(jsonlUser{ID: u.ID, Username: u.Username, Hash: u.PasswordHash, Created: &created}); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	fmt.Fprintf(in.stdout, "exported %d users to %s (mode 0600: it holds password hashes)\n", len(users), absPath(file))
	return nil
}
