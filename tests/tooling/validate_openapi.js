// Validates an OpenAPI document with @apidevtools/swagger-parser (schema, $refs, and the
// OpenAPI 3.1 rules it knows). usage: node validate_openapi.js <file.json>
// Prints "valid" and exits 0, or prints the problems and exits 1.
"use strict";
const fs = require("fs");
const SwaggerParser = require("@apidevtools/swagger-parser");

const doc = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
SwaggerParser.validate(doc)
  .then(() => console.log("valid"))
  .catch((e) => {
    console.log(e.message);
    process.exit(1);
  });
