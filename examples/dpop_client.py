"""A DPoP client (RFC 9449) that is not rampgate: its key and proofs are made
by joserfc, an independent JOSE library. Against the quickstart on its dev
issuer it gets a token bound to its own key, calls `GET /me` with a fresh
proof, then tries what RFC 9449 refuses: a replayed proof, a proof for
another method, another URL, another token, a foreign key, the token as a
bearer token, no proof at all.

    python3 -m pip install joserfc
    cargo run --example quickstart                  # prints "embedded dev issuer: URL"
    python3 examples/dpop_client.py http://127.0.0.1:3000 ISSUER_URL

Each line printed is `<case> <status> <reason>`; the exit status is 0 when
every answer is the one RFC 9449 asks for.
"""
import base64
import hashlib
import http.client
import json
import sys
import time
import urllib.parse
import urllib.request
import uuid

from joserfc import jws
from joserfc.jwk import ECKey


def ath(token):
    digest = hashlib.sha256(token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def proof(key, method, url, token, **extra):
    """A fresh proof by `key` for `method url` with `token` (RFC 9449 §4.2)."""
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}
    claims = {
        "jti": str(uuid.uuid4()),
        "htm": method,
        "htu": url,
        "iat": int(time.time()),
        "ath": ath(token),
    }
    claims.update(extra)
    payload = json.dumps(claims, separators=(",", ":")).encode("utf-8")
    return jws.serialize_compact(header, payload, key, algorithms=["ES256"])


def call(url, authorization, proofs=()):
    """GET `url` with one `DPoP` header per proof: the status, and the reason
    of a refusal."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    connection.putrequest("GET", path)
    connection.putheader("Authorization", authorization)
    for p in proofs:
        connection.putheader("DPoP", p)
    connection.endheaders()
    answer = connection.getresponse()
    body = answer.read()
    connection.close()
    if answer.status < 400:
        return answer.status, "-"
    return answer.status, json.loads(body).get("reason", "?")


def mint(issuer, jkt, sub):
    """A token bound to the key whose RFC 7638 thumbprint is `jkt`, from the
    dev issuer's /mint (a real client gets it from its authorization server,
    with a DPoP proof at the token endpoint)."""
    with urllib.request.urlopen(f"{issuer}/mint?sub={sub}&jkt={jkt}") as answer:
        return answer.read().decode("ascii").strip()


def main():
    service, issuer = sys.argv[1].rstrip("/"), sys.argv[2].rstrip("/")
    me = f"{service}/me"
    key, stranger = ECKey.generate_key("P-256"), ECKey.generate_key("P-256")
    token = mint(issuer, key.thumbprint(), "agent")
    other = mint(issuer, key.thumbprint(), "other")
    dpop = f"DPoP {token}"
    once = proof(key, "GET", me, token)
    cases = [
        ("fresh_proof", 200, call(me, dpop, [once])),
        ("query_ignored", 200, call(me + "?page=2", dpop, [proof(key, "GET", me + "?x=1", token)])),
        ("replayed_proof", 401, call(me, dpop, [once])),
        ("other_method", 401, call(me, dpop, [proof(key, "POST", me, token)])),
        ("other_url", 401, call(me, dpop, [proof(key, "GET", f"{service}/profile", token)])),
        ("other_token", 401, call(me, dpop, [proof(key, "GET", me, other)])),
        ("foreign_key", 401, call(me, dpop, [proof(stranger, "GET", me, token)])),
        ("stale_iat", 401, call(me, dpop, [proof(key, "GET", me, token, iat=int(time.time()) - 600)])),
        ("two_proofs", 401, call(me, dpop, [proof(key, "GET", me, token), proof(key, "GET", me, token)])),
        ("no_proof", 401, call(me, dpop)),
        ("as_bearer", 401, call(me, f"Bearer {token}")),
    ]
    ok = True
    for name, expected, (status, reason) in cases:
        print(f"{name} {status} {reason}")
        ok = ok and status == expected
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
