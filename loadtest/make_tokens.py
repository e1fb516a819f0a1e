#!/usr/bin/python3
"""Prints N bearer tokens (HS256) for users load-0 .. load-(N-1), one a line."""
import base64, hashlib, hmac, json, sys, time

def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

secret, n = sys.argv[1], int(sys.argv[2])
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
exp = int(time.time()) + 6 * 3600
for i in range(n):
    body = b64(json.dumps({"sub": "load-%d" % i, "exp": exp}).encode())
    sig = hmac.new(secret.encode(), (head + "." + body).encode(), hashlib.sha256).digest()
    print(head + "." + body + "." + b64(sig))
