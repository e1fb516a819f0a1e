#!/usr/bin/python3
"""Creates N users with an address each on a running server; prints "token address_id" lines.
Usage: make_users.py PORT JWT_SECRET N"""
import base64, hashlib, hmac, http.client, json, sys, time

port, secret, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])

def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
conn = http.client.HTTPConnection("127.0.0.1", port)
for i in range(n):
    body = b64(json.dumps({"sub": "buyer-%d" % i, "exp": int(time.time()) + 6 * 3600}).encode())
    tok = head + "." + body + "." + b64(hmac.new(secret.encode(), (head + "." + body).encode(), hashlib.sha256).digest())
    conn.request("POST", "/v1/addresses", body=json.dumps({"name": "B", "line1": "1 St", "city": "C",
                 "postal_code": "1", "country": "US"}), headers={"Authorization": "Bearer " + tok,
                 "Content-Type": "application/json"})
    print(tok, json.loads(conn.getresponse().read())["id"])
