"""Every JSON answer a test gets through harness.Client, held to the server's own OpenAPI
document: the status must be one the operation lists, and the body must match the schema
given for it. So the whole end-to-end suite checks the document against real answers, in
every state the tests reach, not only the states a dedicated test thought of.

The document is read once per server port from GET /openapi.json. A port that does not serve
one (a stand-in) is not checked, nor are paths or methods the document does not have (the
tests of unknown routes and malformed requests), nor HEAD.
"""
import http.client
import json
import re

import jsonschema

_documents = {}  # port -> (operations, components) or None


class Mismatch(AssertionError):
    pass


def _load(port):
    if port in _documents:
        return _documents[port]
    found = None
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/openapi.json")
        resp = conn.getresponse()
        payload = resp.read()
        conn.close()
        if resp.status == 503:
            return None  # a server still starting: ask again on its next answer
        if resp.status == 200 and resp.getheader("content-type", "").startswith("application/json"):
            doc = json.loads(payload)
            if isinstance(doc, dict) and "paths" in doc:
                found = _operations(doc), doc.get("components", {})
    except (OSError, ValueError, http.client.HTTPException):
        return None  # not there yet (a node restarting on its port): ask again
    _documents[port] = found
    return found


def _operations(doc):
    """[(regex, number of parameters, {method: operation})], literal paths first."""
    out = []
    for path, item in doc["paths"].items():
        params = path.count("{")
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"
        methods = {m.upper(): op for m, op in item.items() if isinstance(op, dict) and "responses" in op}
        out.append((re.compile(pattern), params, methods))
    out.sort(key=lambda e: e[1])
    return out


def check(port, method, target, status, content_type, body):
    """Raises Mismatch when the answer contradicts the document."""
    import os
    survey = os.environ.get("OPENAPI_SURVEY")
    if survey:
        try:
            _check(port, method, target, status, content_type, body)
        except Mismatch as e:
            with open(survey, "a") as f:
                f.write(str(e).replace("\n", " | ")[:600] + "\n")
        return
    _check(port, method, target, status, content_type, body)


def _check(port, method, target, status, content_type, body):
    if method == "HEAD":
        return
    loaded = _load(port)
    if not loaded:
        return
    operations, components = loaded
    path = target.split("?", 1)[0]
    operation = None
    for regex, _, methods in operations:
        if regex.match(path):
            operation = methods.get(method)
            break
    if operation is None:
        return
    responses = operation["responses"]
    answer = responses.get(str(status)) or responses.get("default")
    where = "%s %s -> %d" % (method, target, status)
    if answer is None:
        raise Mismatch("%s: the OpenAPI document lists no %d for this operation (it lists %s)"
                       % (where, status, ", ".join(sorted(responses))))
    schema = answer.get("content", {}).get("application/json", {}).get("schema")
    if schema is None or not content_type.startswith("application/json"):
        return
    validator = jsonschema.Draft202012Validator(dict(schema, components=components))
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        raise Mismatch("%s: the answer does not match the OpenAPI document at %s: %s\n%s"
                       % (where, "/".join(str(p) for p in e.absolute_path) or "the top",
                          e.message[:500], json.dumps(body)[:1500]))
