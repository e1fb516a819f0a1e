"""GET /dashboard and GET /openapi.json against a real `stampede serve`.

The OpenAPI document is checked by a real validator, @apidevtools/swagger-parser on Debian's
node, installed on first use with `npm ci` from tests/tooling's package.json and
package-lock.json into the build directory (and again only when the lock changes).
(That every route of the table is in it with its method is checked in C++ against the table
itself: tests/server/openapi_test.cc.)

usage: pages_test.py <stampede binary> <tooling build dir>
"""
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from harness import Client, Server, make_token

TOOLING_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tooling")
NPM_TIMEOUT_S = 300


def ensure_tooling(tooling):
    """node_modules for the validator in `tooling`, installed exactly as the lock says."""
    os.makedirs(tooling, exist_ok=True)
    with open(os.path.join(tooling, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # ctest -j: one installer at a time
        with open(os.path.join(TOOLING_SOURCE, "package-lock.json"), "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        stamp = os.path.join(tooling, ".installed")
        if os.path.exists(stamp) and open(stamp).read() == digest:
            return
        for name in ("package.json", "package-lock.json", "validate_openapi.js"):
            shutil.copy(os.path.join(TOOLING_SOURCE, name), tooling)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=tooling,
                       check=True, timeout=NPM_TIMEOUT_S)
        with open(stamp, "w") as f:
            f.write(digest)


class Pages(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(BINARY)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.c = Client(self.server.port)

    def tearDown(self):
        self.c.close()

    def test_the_dashboard_is_the_page_with_a_policy_that_lets_nothing_in(self):
        status, headers, body, raw = self.c.request("GET", "/dashboard", token=None)
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "text/html; charset=utf-8")
        page = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "server",
                            "dashboard", "dashboard.html")
        with open(page, "rb") as f:
            self.assertEqual(raw, f.read())
        policy = headers["content-security-policy"]
        self.assertIn("default-src 'none'", policy)
        self.assertIn("connect-src 'self'", policy)
        # The page needs no token; the figures do (they come over the WebSocket).
        status, _, _, _ = self.c.request("GET", "/dashboard?access_token=whatever", token=None)
        self.assertEqual(status, 200)

    def test_the_openapi_document_passes_a_real_validator(self):
        ensure_tooling(TOOLING)
        status, headers, doc, raw = self.c.request("GET", "/openapi.json", token=None)
        self.assertEqual(status, 200)
        self.assertEqual(doc["openapi"], "3.1.0")
        with tempfile.NamedTemporaryFile("wb", suffix=".json") as f:
            f.write(raw)
            f.flush()
            r = subprocess.run(["node", os.path.join(TOOLING, "validate_openapi.js"), f.name],
                               cwd=TOOLING, capture_output=True, text=True, timeout=60)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "valid"), r.stdout + r.stderr)

    def test_the_validator_refuses_a_broken_document(self):
        """The positive control: the same validator on a document with a dangling $ref and an
        answer without its description."""
        ensure_tooling(TOOLING)
        _, _, doc, _ = self.c.request("GET", "/openapi.json", token=None)
        answers = doc["paths"]["/v1/cart"]["get"]["responses"]
        answers["200"]["content"]["application/json"]["schema"]["$ref"] = "#/components/schemas/Nope"
        del answers["401"]["description"]
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump(doc, f)
            f.flush()
            r = subprocess.run(["node", os.path.join(TOOLING, "validate_openapi.js"), f.name],
                               cwd=TOOLING, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stdout)

    def test_operations_say_what_the_server_does(self):
        _, _, doc, _ = self.c.request("GET", "/openapi.json", token=None)
        cart = doc["paths"]["/v1/cart/items"]["post"]
        self.assertEqual(cart["security"], [{"bearer": []}])
        self.assertIn("Idempotency-Key", [p["name"] for p in cart["parameters"]])
        self.assertLessEqual({"200", "400", "401", "409", "415", "429", "503"}, set(cart["responses"]))
        # An admin route, asked by a customer, is 403 as documented.
        admin = doc["paths"]["/v1/admin/products"]["post"]
        self.assertIn("403", admin["responses"])
        status, _, body, _ = self.c.request("POST", "/v1/admin/products", {"id": "x", "name": "x", "price": 1},
                                            token=make_token("alice"))
        self.assertEqual((status, body["error"]["code"]), (403, "forbidden"))

    def test_a_body_is_required_only_where_the_server_requires_one(self):
        _, _, doc, _ = self.c.request("GET", "/openapi.json", token=None)
        required = {(path, method): op["requestBody"]["required"]
                    for path, item in doc["paths"].items() for method, op in item.items()
                    if "requestBody" in op}
        self.assertFalse(required[("/v1/checkout/preview", "post")])
        self.assertFalse(required[("/v1/products/{id}/waitlist", "post")])
        self.assertFalse(required[("/v1/admin/products/{id}", "patch")])
        self.assertTrue(required[("/v1/orders", "post")])
        self.assertTrue(required[("/v1/cart/items", "post")])
        # And the server takes a preview with no body at all, as the document now says.
        status, _, summary, _ = self.c.request("POST", "/v1/checkout/preview", token=make_token("nobody"))
        self.assertEqual(status, 200, summary)

    def test_every_operation_lists_431_and_its_code(self):
        _, _, doc, _ = self.c.request("GET", "/openapi.json", token=None)
        for path, item in doc["paths"].items():
            for method, op in item.items():
                self.assertIn("431", op["responses"], (method, path))
        codes = doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
        self.assertIn("request_header_fields_too_large", codes)
        raw = self.server.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
        self.assertIn(b"431", raw.split(b"\r\n", 1)[0])
        self.assertIn(b'"code":"request_header_fields_too_large"', raw)


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    TOOLING = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
