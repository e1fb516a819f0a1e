// The OpenAPI 3.1 description of the HTTP API (GET /openapi.json), made from the route table
// (server/routes.h) so that it cannot drift from it: every row becomes one operation, and its
// method, path, security (bearer for user and admin rows), Idempotency-Key header, request
// body and the error answers the table implies are read from the row's columns. What a row
// does not say (a summary, its path parameters' names, its query parameters, the schemas of
// its body and answer, the errors only its handler gives) comes from the operation notes in
// openapi.cc, keyed by method and pattern; the schemas are server/openapi/schemas.json,
// built into the binary. Pure functions: any thread.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "server/routes.h"

namespace stampede::http {

struct operation_note {
  const char* method;
  const char* pattern;  // as in the route table
  const char* id;       // operationId
  const char* tag;
  const char* summary;
  const char* params;   // names of the "{}" segments in order, comma-separated; "" for none
  const char* query;    // query parameters, comma-separated, each one of openapi.cc's set
  const char* request;  // the body's schema (components/schemas), nullptr for none
  unsigned success;     // 200, 201, 204
  const char* answer;   // the success body's schema, nullptr for none
  const char* media;    // the success body's media type, nullptr for application/json
  const char* errors;   // statuses only the handler gives, space-separated ("404 409")
};

// Notes for API.md's routes, including some not (yet) in the table (drops, cluster): a note
// is used only once its route exists.
std::span<const operation_note> operation_notes();
const operation_note* find_operation_note(std::string_view method, std::string_view pattern);

// "/v1/products/{}" with the note's names -> "/v1/products/{id}".
std::string openapi_path(const route& r, const operation_note* note);

// The whole document, as JSON text.
std::string openapi_json(std::span<const route> table);

}  // namespace stampede::http
