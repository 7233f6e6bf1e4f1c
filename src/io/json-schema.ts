import { Ajv, type ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { SCHEMA_DIR } from '../paths.js';

const ajv = new Ajv({ allErrors: true });
const compiled = new Map<string, ValidateFunction>();

/**
 * Check `data` against a JSON Schema (draft-07), named by a path or by a file name in
 * schemas/. Throws an Error that lists every violation, each with its JSON pointer.
 */
export function validateJson(schemaFile: string, data: unknown): void {
  const problems = schemaViolations(schemaFile, data);
  if (problems.length) throw new Error(`data does not match ${schemaFile}: ${problems.join('; ')}`);
}

/** Every way `data` violates the schema, each as `<JSON pointer> <problem>`; none when it conforms. */
export function schemaViolations(schemaFile: string, data: unknown): string[] {
  const path = isAbsolute(schemaFile) ? schemaFile : join(SCHEMA_DIR, schemaFile);
  let validate = compiled.get(path);
  if (!validate) {
    validate = ajv.compile(JSON.parse(readFileSync(path, 'utf8')));
    compiled.set(path, validate);
  }
  if (validate(data)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}
