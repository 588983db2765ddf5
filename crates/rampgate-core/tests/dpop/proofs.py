"""DPoP proofs (RFC 9449) made by an independent JOSE implementation, joserfc,
for crates/rampgate-core/tests/dpop.rs.

Reads a JSON list of cases on stdin and writes a JSON object on stdout: for
each case's name, the compact proof and the RFC 7638 thumbprint of its key as
joserfc computes it. A case names its key ("ec1", "ec2", "ed", "rsa", "oct";
each made once per run) and may change the proof's header and claims:

  alg (default: the key's), typ ("dpop+jwt"), private_jwk (false),
  htm ("GET"), htu, iat_offset (seconds from now, 0), ath_of (the access
  token whose hash is ath; a null ath_of leaves ath out), jti (random),
  nonce (none), drop (claim names to leave out).

Install joserfc with `python3 -m pip install joserfc` (what .ci/run does).
"""
import base64
import hashlib
import json
import sys
import time
import uuid
import warnings

from joserfc import jws
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

# joserfc warns that "EdDSA" is deprecated by RFC 9864 (for "Ed25519"); RFC
# 9449 proofs use "EdDSA".
warnings.filterwarnings("ignore")

MAKERS = {
    "ec1": (lambda: ECKey.generate_key("P-256"), "ES256"),
    "ec2": (lambda: ECKey.generate_key("P-256"), "ES256"),
    "ed": (lambda: OKPKey.generate_key("Ed25519"), "EdDSA"),
    "rsa": (lambda: RSAKey.generate_key(2048), "RS256"),
    "oct": (lambda: OctKey.generate_key(256), "HS256"),
}
keys = {}


def key(name):
    if name not in keys:
        keys[name] = MAKERS[name][0]()
    return keys[name]


def ath(token):
    digest = hashlib.sha256(token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def proof(case):
    name = case.get("key", "ec1")
    k = key(name)
    alg = case.get("alg", MAKERS[name][1])
    header = {
        "typ": case.get("typ", "dpop+jwt"),
        "alg": alg,
        "jwk": k.as_dict(private=case.get("private_jwk", False)),
    }
    claims = {
        "jti": case.get("jti", str(uuid.uuid4())),
        "htm": case.get("htm", "GET"),
        "htu": case["htu"],
        "iat": int(time.time()) + case.get("iat_offset", 0),
    }
    if case.get("ath_of") is not None:
        claims["ath"] = ath(case["ath_of"])
    if "nonce" in case:
        claims["nonce"] = case["nonce"]
    for dropped in case.get("drop", []):
        claims.pop(dropped, None)
    payload = json.dumps(claims, separators=(",", ":")).encode("utf-8")
    compact = jws.serialize_compact(header, payload, k, algorithms=[alg])
    return {"proof": compact, "jkt": k.thumbprint()}


def main():
    cases = json.load(sys.stdin)
    json.dump({case["name"]: proof(case) for case in cases}, sys.stdout)


if __name__ == "__main__":
    main()
