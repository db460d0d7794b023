#!/usr/bin/env python3
"""A restauth client with requests: the REST-auth calls, then sessions.

    python3 examples/python/client.py [BASE_URL]     (default http://127.0.0.1:5000)

It registers a fresh user, calls a protected route with Basic credentials,
gets a token with GET /api/token and uses it both ways (as the Basic username,
REST-auth style, and as a Bearer token), then opens a session with
POST /api/tokens, refreshes it, logs out, and checks that the ended session's
tokens are refused. Every answer is checked; any surprise exits non-zero.
"""

import secrets
import sys

import requests

BASE = (sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5000").rstrip("/")
TIMEOUT = 10  # seconds; a stuck server fails the example instead of hanging it


def expect(resp, status, *fields):
    """Return the JSON body of resp after checking its status and fields."""
    if resp.status_code != status:
        sys.exit(f"{resp.request.method} {resp.url}: got {resp.status_code} {resp.text!r}, want {status}")
    if status == 204:
        return None
    body = resp.json()
    missing = [f for f in fields if f not in body]
    if missing:
        sys.exit(f"{resp.request.method} {resp.url}: answer {body!r} lacks {missing}")
    return body


def main():
    http = requests.Session()
    username = "py-" + secrets.token_hex(4)
    password = secrets.token_urlsafe(16)  # never printed

    # Register: 201, the user, and where it lives.
    r = http.post(f"{BASE}/api/users", json={"username": username, "password": password}, timeout=TIMEOUT)
    user = expect(r, 201, "id", "username")
    if user["username"] != username or not r.headers.get("Location", "").endswith(f"/api/users/{user['id']}"):
        sys.exit(f"register: unexpected answer {user!r}, Location {r.headers.get('Location')!r}")
    print(f"registered {username} as id {user['id']}")

    # A protected route with HTTP Basic, and a wrong password refused.
    body = expect(http.get(f"{BASE}/api/resource", auth=(username, password), timeout=TIMEOUT), 200, "data")
    if body["data"] != f"Hello, {username}!":
        sys.exit(f"resource: got {body!r}")
    expect(http.get(f"{BASE}/api/resource", auth=(username, password + "x"), timeout=TIMEOUT), 401, "error")
    print("Basic: ok")

    # The REST-auth token, as the Basic username and as a Bearer token.
    tok = expect(http.get(f"{BASE}/api/token", auth=(username, password), timeout=TIMEOUT), 200, "token", "duration")
    token = tok["token"]
    expect(http.get(f"{BASE}/api/resource", auth=(token, "unused"), timeout=TIMEOUT), 200, "data")
    bearer = {"Authorization": f"Bearer {token}"}
    expect(http.get(f"{BASE}/api/resource", headers=bearer, timeout=TIMEOUT), 200, "data")
    print(f"token: ok, valid for {tok['duration']} s")

    # A session: an access and a refresh token.
    pair = expect(http.post(f"{BASE}/api/tokens", auth=(username, password), timeout=TIMEOUT),
                  200, "access_token", "refresh_token", "expires_in")
    expect(http.get(f"{BASE}/api/resource", headers={"Authorization": f"Bearer {pair['access_token']}"},
                    timeout=TIMEOUT), 200, "data")

    # Refresh: a new pair; the access token it returns works.
    new = expect(http.post(f"{BASE}/api/tokens/refresh", json={"refresh_token": pair["refresh_token"]},
                           timeout=TIMEOUT), 200, "access_token", "refresh_token")
    if new["refresh_token"] == pair["refresh_token"]:
        sys.exit("refresh: the refresh token was not rotated")
    access = {"Authorization": f"Bearer {new['access_token']}"}
    expect(http.get(f"{BASE}/api/resource", headers=access, timeout=TIMEOUT), 200, "data")
    print("refresh: ok")

    # Logout ends the session: its access token is refused at once, and so
    # is its refresh token.
    expect(http.post(f"{BASE}/api/logout", headers=access, timeout=TIMEOUT), 204)
    err = expect(http.get(f"{BASE}/api/resource", headers=access, timeout=TIMEOUT), 401, "error")
    if err["error"] != "invalid_token":
        sys.exit(f"after logout: got {err!r}, want invalid_token")
    err = expect(http.post(f"{BASE}/api/tokens/refresh", json={"refresh_token": new["refresh_token"]},
                           timeout=TIMEOUT), 400, "error")
    if err["error"] != "invalid_grant":
        sys.exit(f"refresh after logout: got {err!r}, want invalid_grant")
    print("logout: ok")


if __name__ == "__main__":
    main()
