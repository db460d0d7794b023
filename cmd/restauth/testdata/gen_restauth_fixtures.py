#!/usr/bin/python3
"""Writes restauth_users.sql: a REST-auth users table with real hashes.

The hashes are made by the libraries REST-auth used, so that restauth's
import is tested against what those libraries really write:

  - passlib's sha256_crypt, as in the blog-era code
    (custom_app_context.encrypt on a 32-bit Python), "$5$rounds=...";
  - passlib's custom_app_context, which picks sha512_crypt on a 64-bit
    Python, "$6$rounds=...";
  - Werkzeug's generate_password_hash, as in the current code,
    "pbkdf2:sha256:260000$...".

The table is the one REST-auth's SQLAlchemy model creates
(id, username, password_hash). The ids have gaps, as a table with deleted
users has. Run it once, with Debian's python3-passlib and python3-werkzeug:

  /usr/bin/python3 cmd/restauth/testdata/gen_restauth_fixtures.py

and commit the output; the tests need no Python. The passwords are listed
in a comment beside each row and in cmd/restauth/import_test.go.
"""

import os

import passlib
import werkzeug
from passlib.apps import custom_app_context
from passlib.hash import sha256_crypt
from werkzeug.security import generate_password_hash

USERS = [
    # id, username, password, how the hash is made
    (1, "miguel", "python", "passlib-sha256_crypt"),
    (2, "susan", "correct horse battery staple", "werkzeug-pbkdf2"),
    (5, "Ödön", "jelszó-Ünnep", "werkzeug-pbkdf2"),
    (9, "olga", "sekrit-42", "passlib-custom_app_context"),
]


def make(scheme, password):
    if scheme == "passlib-sha256_crypt":
        return sha256_crypt.hash(password)
    if scheme == "passlib-custom_app_context":
        return custom_app_context.hash(password)
    if scheme == "werkzeug-pbkdf2":
        return generate_password_hash(password, method="pbkdf2:sha256")
    raise ValueError(scheme)


def quote(s):
    return "'" + s.replace("'", "''") + "'"


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "restauth_users.sql")
    lines = [
        "-- A REST-auth users table, written by gen_restauth_fixtures.py with",
        "-- passlib %s and Werkzeug %s. Do not edit by hand." % (passlib.__version__, werkzeug.__version__),
        "CREATE TABLE users (",
        "\tid INTEGER NOT NULL,",
        "\tusername VARCHAR(32),",
        "\tpassword_hash VARCHAR(128),",
        "\tPRIMARY KEY (id)",
        ");",
        "CREATE INDEX ix_users_username ON users (username);",
    ]
    for uid, name, password, scheme in USERS:
        h = make(scheme, password)
        lines.append("INSERT INTO users (id, username, password_hash) VALUES (%d, %s, %s); -- %s, password %s"
                     % (uid, quote(name), quote(h), scheme, quote(password)))
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
